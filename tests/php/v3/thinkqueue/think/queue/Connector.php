<?php
namespace think\queue;

use DateTimeInterface;
use InvalidArgumentException;
use think\App;

// think-queue 3.x connector base: five abstract operations; pushOn/laterOn are argument-order
// aliases; bulk() pushes each job in turn and returns null; the app and the connection name are
// set by the manager after the driver is built. The payload helpers are what stock connectors
// use (the native shim does not).
abstract class Connector
{
    /** @var App */
    protected $app;

    protected $connection;

    protected $options = [];

    abstract public function size($queue = null);

    abstract public function push($job, $data = '', $queue = null);

    public function pushOn($queue, $job, $data = '')
    {
        return $this->push($job, $data, $queue);
    }

    abstract public function pushRaw($payload, $queue = null, array $options = []);

    abstract public function later($delay, $job, $data = '', $queue = null);

    public function laterOn($queue, $delay, $job, $data = '')
    {
        return $this->later($delay, $job, $data, $queue);
    }

    public function bulk($jobs, $data = '', $queue = null)
    {
        foreach ((array) $jobs as $job) {
            $this->push($job, $data, $queue);
        }
    }

    abstract public function pop($queue = null);

    protected function createPayload($job, $data = '')
    {
        $json = json_encode($this->createPayloadArray($job, $data));
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new InvalidArgumentException('Unable to create payload: ' . json_last_error_msg());
        }

        return $json;
    }

    protected function createPayloadArray($job, $data = '')
    {
        if (!is_object($job)) {
            return ['job' => $job, 'maxTries' => null, 'timeout' => null, 'data' => $data];
        }

        return [
            'job'       => 'think\queue\CallQueuedHandler@call',
            'maxTries'  => $job->tries ?? null,
            'timeout'   => $job->timeout ?? null,
            'timeoutAt' => $this->getJobExpiration($job),
            'data'      => ['commandName' => get_class($job), 'command' => serialize(clone $job)],
        ];
    }

    // null unless the object has a timeoutAt property or a retryUntil() method; a time object
    // becomes its unix timestamp.
    public function getJobExpiration($job)
    {
        if (!method_exists($job, 'retryUntil') && !isset($job->timeoutAt)) {
            return null;
        }
        $at = $job->timeoutAt ?? $job->retryUntil();

        return $at instanceof DateTimeInterface ? $at->getTimestamp() : $at;
    }

    public function setApp(App $app)
    {
        $this->app = $app;

        return $this;
    }

    public function getConnection()
    {
        return $this->connection;
    }

    public function setConnection($name)
    {
        $this->connection = $name;

        return $this;
    }
}
