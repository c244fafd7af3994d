<?php
namespace think\queue;

use InvalidArgumentException;

// think-queue 1.x connector base: the three abstract operations, marshal() for push-type queues,
// and the payload helpers the stock connectors use (the native shim does not use them).
abstract class Connector
{
    protected $options = [];

    abstract public function push($job, $data = '', $queue = null);

    abstract public function later($delay, $job, $data = '', $queue = null);

    abstract public function pop($queue = null);

    public function marshal()
    {
        throw new \RuntimeException('pop queues not support for this type');
    }

    protected function createPayload($job, $data = '', $queue = null)
    {
        $body = is_object($job)
            ? ['job' => 'think\queue\CallQueuedHandler@call',
               'data' => ['commandName' => get_class($job), 'command' => serialize(clone $job)]]
            : $this->createPlainPayload($job, $data);

        return self::encode($body);
    }

    protected function createPlainPayload($job, $data)
    {
        return ['job' => $job, 'data' => $data];
    }

    protected function setMeta($payload, $key, $value)
    {
        $decoded       = json_decode($payload, true);
        $decoded[$key] = $value;

        return self::encode($decoded);
    }

    private static function encode($value)
    {
        $json = json_encode($value);
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new InvalidArgumentException('Unable to create payload: ' . json_last_error_msg());
        }

        return $json;
    }
}
