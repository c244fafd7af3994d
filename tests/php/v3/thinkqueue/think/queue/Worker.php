<?php
namespace think\queue;

use Exception;
use RuntimeException;
use think\Cache;
use think\Event;
use think\exception\Handle;
use think\Queue;
use think\queue\command\WorkerStopped;
use think\queue\event\JobExceptionOccurred;
use think\queue\event\JobFailed;
use think\queue\event\JobProcessed;
use think\queue\event\JobProcessing;
use think\queue\event\WorkerStopping;
use think\queue\exception\MaxAttemptsExceededException;
use Throwable;

// think-queue 3.x worker (spec §7.2). process():
//  - JobProcessing; then the pre-check: maxTries = job.maxTries ?? --tries; with a timeoutAt the
//    job runs while now <= timeoutAt, without one while maxTries is 0 or attempts() <= maxTries;
//    otherwise it is failed with MaxAttemptsExceededException (thrown);
//  - fire(); JobProcessed (also when the handler neither deleted nor released);
//  - on any Throwable: unless already failed, fail it when timeoutAt has passed or when
//    attempts() >= maxTries > 0 (so --tries=N fails at the end of run N); JobExceptionOccurred;
//    finally release(--delay) unless deleted, released or failed; rethrow.
// failJob(): markAsFailed; unless deleted: delete(), failed($e), finally JobFailed.
class Worker
{
    protected $event;

    protected $handle;

    protected $queue;

    protected $cache;

    public $shouldQuit = false;

    public function __construct(Queue $queue, Event $event, Handle $handle, ?Cache $cache = null)
    {
        $this->queue  = $queue;
        $this->event  = $event;
        $this->handle = $handle;
        $this->cache  = $cache;
    }

    public function daemon($connection, $queue, $delay = 0, $sleep = 3, $maxTries = 0, $memory = 128, $timeout = 60)
    {
        $lastRestart = $this->getTimestampOfLastQueueRestart();

        while (true) {
            $job = $this->getNextJob($this->queue->connection($connection), $queue);

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

    public function runNextJob($connection, $queue, $delay = 0, $sleep = 3, $maxTries = 0)
    {
        $job = $this->getNextJob($this->queue->connection($connection), $queue);

        if ($job) {
            $this->runJob($job, $connection, $maxTries, $delay);
        } else {
            $this->sleep($sleep);
        }
    }

    protected function getTimestampOfLastQueueRestart()
    {
        return $this->cache ? $this->cache->get('think:queue:restart') : null;
    }

    public function stop($status = 0)
    {
        $this->event->trigger(new WorkerStopping($status));

        throw new WorkerStopped('worker stopped', $status);
    }

    protected function runJob($job, $connection, $maxTries, $delay)
    {
        try {
            $this->process($connection, $job, $maxTries, $delay);
        } catch (Exception | Throwable $e) {
            $this->handle->report($e);
        }
    }

    protected function getNextJob($connector, $queue)
    {
        try {
            foreach (explode(',', $queue) as $name) {
                $job = $connector->pop($name);
                if ($job !== null) {
                    return $job;
                }
            }
        } catch (Exception | Throwable $e) {
            $this->handle->report($e);
            $this->sleep(1);
        }

        return null;
    }

    public function process($connection, $job, $maxTries = 0, $delay = 0)
    {
        try {
            $this->event->trigger(new JobProcessing($connection, $job));

            $this->markJobAsFailedIfAlreadyExceedsMaxAttempts($connection, $job, (int) $maxTries);

            $job->fire();

            $this->event->trigger(new JobProcessed($connection, $job));
        } catch (Exception | Throwable $e) {
            try {
                if (!$job->hasFailed()) {
                    $this->markJobAsFailedIfWillExceedMaxAttempts($connection, $job, (int) $maxTries, $e);
                }

                $this->event->trigger(new JobExceptionOccurred($connection, $job, $e));
            } finally {
                if (!$job->isDeleted() && !$job->isReleased() && !$job->hasFailed()) {
                    $job->release($delay);
                }
            }

            throw $e;
        }
    }

    protected function markJobAsFailedIfAlreadyExceedsMaxAttempts($connection, $job, $maxTries)
    {
        $maxTries  = $job->maxTries() ?? $maxTries;
        $timeoutAt = $job->timeoutAt();

        if ($timeoutAt && time() <= $timeoutAt) {
            return;
        }
        if (!$timeoutAt && ($maxTries === 0 || $job->attempts() <= $maxTries)) {
            return;
        }

        $e = new MaxAttemptsExceededException(
            $job->getName() . ' has been attempted too many times or run too long. The job may have previously timed out.'
        );
        $this->failJob($connection, $job, $e);

        throw $e;
    }

    protected function markJobAsFailedIfWillExceedMaxAttempts($connection, $job, $maxTries, $e)
    {
        $maxTries = $job->maxTries() ?? $maxTries;

        if ($job->timeoutAt() && $job->timeoutAt() <= time()) {
            $this->failJob($connection, $job, $e);
        }
        if ($maxTries > 0 && $job->attempts() >= $maxTries) {
            $this->failJob($connection, $job, $e);
        }
    }

    protected function failJob($connection, $job, $e)
    {
        $job->markAsFailed();

        if ($job->isDeleted()) {
            return;
        }

        try {
            $job->delete();
            $job->failed($e);
        } finally {
            $this->event->trigger(new JobFailed($connection, $job, $e ?: new RuntimeException('ManuallyFailed')));
        }
    }

    public function sleep($seconds)
    {
        if ($seconds < 1) {
            usleep((int) ($seconds * 1000000));
        } else {
            sleep((int) $seconds);
        }
    }
}
