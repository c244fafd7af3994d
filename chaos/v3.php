<?php
/*
 * think-queue 3.x (ThinkPHP 6/8) pieces of the chaos harness, on top of the stand-ins of
 * tests/php/v3/thinkqueue: the app a ThinkPHP 6 project boots (container, config/queue.php with
 * the one changed word, events, cache, think-queue's service), and two adjustments that keep a
 * long-running stand-in process honest:
 *  - QuietEvent: the stand-in dispatcher also keeps every event object for tests (a leak a real
 *    ThinkPHP dispatcher does not have); this one forgets them after dispatching;
 *  - ChaosHandle: the exception handler records each reported exception in Redis instead of
 *    keeping it in memory.
 * SignalWorker adds what stock think-queue 3.x's Worker::daemon() does with ext-pcntl (wire spec
 * §7.2) and the stand-in leaves out: pcntl_async_signals(true), SIGTERM -> shouldQuit (stop after
 * the current job), SIGUSR2/SIGCONT -> paused (never read), and per iteration
 * pcntl_alarm(job timeout ?? --timeout) whose SIGALRM fires WorkerStopping(1) and SIGKILLs the
 * process. Everything else is the stand-in's loop, unchanged.
 */

declare(strict_types=1);

namespace chaos;

use think\queue\event\JobFailed;
use think\queue\event\WorkerStopping;

final class QuietEvent extends \think\Event
{
    public function trigger($event, $params = null)
    {
        $results         = parent::trigger($event, $params);
        $this->triggered = [];

        return $results;
    }
}

final class ChaosHandle extends \think\exception\Handle
{
    public function report($exception)
    {
        Rec::error($exception);
    }
}

class SignalWorker extends \think\queue\Worker
{
    public $paused = false;

    public function daemon($connection, $queue, $delay = 0, $sleep = 3, $maxTries = 0, $memory = 128, $timeout = 60)
    {
        $async = extension_loaded('pcntl');
        if ($async) {
            pcntl_async_signals(true);
            pcntl_signal(SIGTERM, function () {
                $this->shouldQuit = true;
                Rec::note('chaos:sigterm', sprintf('%.6f', microtime(true))); // when PHP ran the handler
            });
            pcntl_signal(SIGUSR2, function () {
                $this->paused = true;
            });
            pcntl_signal(SIGCONT, function () {
                $this->paused = false;
            });
        }

        $lastRestart = $this->getTimestampOfLastQueueRestart();

        while (true) {
            $job = $this->getNextJob($this->queue->connection($connection), $queue);

            if ($async) {
                pcntl_signal(SIGALRM, function () {
                    $this->event->trigger(new WorkerStopping(1));
                    if (extension_loaded('posix')) {
                        posix_kill(getmypid(), SIGKILL);
                    }
                    exit(1);
                });
                pcntl_alarm(max((int) (($job ? $job->timeout() : null) ?: $timeout), 0));
            }

            if ($job) {
                $this->runJob($job, $connection, $maxTries, $delay);
            } else {
                $this->sleep($sleep);
            }

            if ($this->shouldQuit || $this->getTimestampOfLastQueueRestart() != $lastRestart) {
                $this->stop();
            } elseif (memory_get_usage(true) / 1024 / 1024 >= $memory) {
                $this->stop(12);
            }
        }
    }
}

/**
 * A ThinkPHP 6 app with think-queue 3.x configured as config/queue.php ships it, the redis
 * connection's type changed to the shim connector. $extra goes into that connection's config
 * (retry_after, block_for, ...); $workerClass is what the container builds for think\queue\Worker.
 */
function app(array $extra, string $workerClass = \think\queue\Worker::class): \think\App
{
    $config = [
        'default'     => 'redis',
        'connections' => [
            'sync'  => ['type' => 'sync'],
            'redis' => ['type' => 'think\queue\native\connector\Redis', 'queue' => queueName()] + $extra + connection(),
        ],
        'failed'      => ['type' => 'none', 'table' => 'failed_jobs'],
    ];
    $app = new \think\App();
    $app->instance('config', (new \think\Config())->set($config, 'queue'));
    $app->bind('event', QuietEvent::class);
    $app->bind(\think\Event::class, QuietEvent::class);
    $app->bind('cache', \think\Cache::class);
    $app->bind(\think\exception\Handle::class, ChaosHandle::class);
    (new \think\queue\Service($app))->register();
    $app->bind(\think\queue\Worker::class, $workerClass);
    $app->make('event')->listen(JobFailed::class, function (JobFailed $event) {
        Rec::failed((string) $event->job->getName(), (string) $event->job->getRawBody());
    });

    return $app;
}

/** Producer side: think\facade\Queue::push through the shim. */
function push(\think\App $app, string $job, $data)
{
    return \think\facade\Queue::push($job, $data, queueName());
}

/** The shim connector of the app (to reach the native RedisQueue for bulk pushes). */
function connector(\think\App $app)
{
    return $app->make(\think\Queue::class)->connection('redis');
}

/**
 * `php think queue:work redis --queue <q> --sleep <s> --tries <t>`: Worker::daemon until it
 * stops (queue:restart, memory, SIGTERM with SignalWorker); returns the stop status.
 */
function runWorker(\think\App $app, float $sleep, int $tries = 0, int $memory = 128, int $timeout = 60): int
{
    $worker = $app->make(\think\queue\Worker::class);
    try {
        $worker->daemon('redis', queueName(), 0, $sleep, $tries, $memory, $timeout);
    } catch (\think\queue\command\WorkerStopped $e) {
        return (int) $e->getCode();
    }

    return 0;
}
