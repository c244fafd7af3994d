<?php
/*
 * think-queue 1.x/2.x (ThinkPHP 5.0/5.1) pieces of the chaos harness, on top of the stand-ins of
 * tests/php/v1/thinkqueue: the queue config with the one changed word (Config 'queue'), and hook
 * listeners an app could register that keep a long-running stand-in process honest:
 *  - the stand-in think\Hook also keeps every listen() call for tests (a leak ThinkPHP's Hook does
 *    not have): cleared at every worker_before_process / worker_before_sleep;
 *  - the stand-in exception handler keeps reported exceptions in a static array: moved to Redis
 *    (chaos:errors) at the same hooks; queue_failed is recorded in chaos:failed.
 * ChaosWork is `php think queue:work` whose per-job console line is not kept in memory.
 * Stock 1.x has no signal handling (wire spec §7.1): SIGTERM ends the process at once.
 */

declare(strict_types=1);

namespace chaos;

use think\Hook;

final class ChaosWork extends \think\queue\command\Work
{
    protected function output($response)
    {
        // stock writes "Processed: <name>" to the console; nothing to keep here
    }
}

function flushV1Reports(): void
{
    foreach (\think\exception\Handle::$reported as $e) {
        Rec::error($e);
    }
    \think\exception\Handle::$reported = [];
    Hook::$fired = [];
    Rec::flush();
}

/** ThinkPHP 5 queue config (connector = the shim) + the hook listeners above. $extra: expire, block_for, ... */
function setupV1(array $extra): void
{
    \think\Config::set('queue', ['connector' => 'think\queue\native\connector\Redis', 'default' => queueName()] + $extra + connection());
    static $hooked = false;
    if (!$hooked) {
        $hooked = true;
        Hook::add('worker_before_process', static function () {
            flushV1Reports();
        });
        Hook::add('worker_before_sleep', static function () {
            flushV1Reports();
        });
        Hook::add('queue_failed', static function ($job) {
            Rec::failed((string) $job->getName(), (string) $job->getRawBody());
        });
    }
}

/** Producer side: think\Queue::push through the shim. */
function pushV1(string $job, $data)
{
    return \think\Queue::push($job, $data, queueName());
}

/**
 * `php think queue:work --queue <q> --daemon --sleep <s> --tries <t>`: the daemon loop until it
 * stops (memory limit or queue:restart); returns 0 when it stopped.
 */
function runWorkerV1(float $sleep, int $tries = 0, int $memory = 128): int
{
    try {
        (new ChaosWork())->execute(['queue' => queueName(), 'daemon' => true, 'delay' => 0, 'sleep' => $sleep,
            'tries' => $tries, 'memory' => $memory]);
    } catch (\think\queue\command\WorkerStopped $e) {
        return 0;
    } finally {
        flushV1Reports();
    }

    return 0;
}
