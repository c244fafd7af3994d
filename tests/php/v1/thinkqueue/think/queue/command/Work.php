<?php
namespace think\queue\command;

use Exception;
use Throwable;
use think\Cache;
use think\exception\Handle;
use think\Hook;
use think\queue\Worker;

// `php think queue:work` of think-queue 1.x without the console plumbing: options come as an
// array with the stock names and defaults. Without 'daemon' one Worker::pop() is done; with it
// the loop runs until the memory limit is reached or the restart key in the cache changes.
class Work
{
    /** @var Worker */
    protected $worker;

    /** @var string[] lines the stock command prints */
    public $output = [];

    public function __construct(?Worker $worker = null)
    {
        $this->worker = $worker ?: new Worker();
    }

    public function execute(array $options = [])
    {
        $options += ['queue' => null, 'daemon' => false, 'delay' => 0, 'memory' => 128, 'sleep' => 3, 'tries' => 0];
        $queue = $options['queue'];

        if ($options['daemon']) {
            Hook::listen('worker_daemon_start', $queue);
            $this->daemon($queue, $options['delay'], $options['memory'], $options['sleep'], $options['tries']);
        } else {
            $this->output($this->worker->pop($queue, $options['delay'], $options['sleep'], $options['tries']));
        }
    }

    protected function output($response)
    {
        if ($response['job'] !== null) {
            $this->output[] = ($response['failed'] ? 'Failed: ' : 'Processed: ') . $response['job']->getName();
        }
    }

    protected function daemon($queue, $delay, $memory, $sleep, $maxTries)
    {
        $lastRestart = Cache::get('think:queue:restart');

        while (true) {
            try {
                $this->output($this->worker->pop($queue, $delay, $sleep, $maxTries));
            } catch (Exception $e) {
                (new Handle())->report($e);
            } catch (Throwable $e) {
                (new Handle())->report($e); // stock wraps it in ThrowableError first
            }

            if (memory_get_usage() / 1024 / 1024 >= $memory) {
                Hook::listen('worker_memory_exceeded', $queue);
                $this->stop();
            }
            if (Cache::get('think:queue:restart') != $lastRestart) {
                Hook::listen('worker_queue_restart', $queue);
                $this->stop();
            }
        }
    }

    public function stop()
    {
        throw new WorkerStopped('worker stopped');
    }
}
