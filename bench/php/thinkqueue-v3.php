<?php
/*
 * Harness pieces for think-queue 3.x (required by lib.php's boot('v3') once the stand-ins are
 * loaded): what a ThinkPHP 6 app has that the test stand-ins do differently, and two ways to end
 * a daemon worker inside one PHP process.
 */

declare(strict_types=1);

namespace tqn\bench;

/** The framework's event dispatcher: the stand-in also keeps every event for tests; this one does not. */
final class QuietEvent extends \think\Event
{
    public function trigger($event, $params = null)
    {
        $results         = parent::trigger($event, $params);
        $this->triggered = [];

        return $results;
    }
}

/** A worker whose idle sleep runs `php think queue:restart`, so the daemon ends once the queue is empty. */
final class IdleStopWorker extends \think\queue\Worker
{
    public function sleep($seconds)
    {
        $this->cache->set('think:queue:restart', microtime(true));
    }
}

/**
 * The stock worker (its idle sleep really sleeps) that calls $stopWhen after each job and each
 * sleep, before the daemon's own quit/restart check; $stopWhen runs queue:restart when it is time.
 */
final class StopWhenWorker extends \think\queue\Worker
{
    /** @var \Closure|null */
    public $stopWhen;

    protected function runJob($job, $connection, $maxTries, $delay)
    {
        parent::runJob($job, $connection, $maxTries, $delay);
        if ($this->stopWhen) {
            ($this->stopWhen)();
        }
    }

    public function sleep($seconds)
    {
        parent::sleep($seconds);
        if ($this->stopWhen) {
            ($this->stopWhen)();
        }
    }
}
