<?php
/*
 * One chaos worker process:
 *
 *   php -d extension=.../libthink_queue_native.so chaos/worker.php <v1|v3> <kind>
 *
 * kind:
 *   native   the stand-in think-queue worker loop of the generation (1.x: queue:work --daemon,
 *            3.x: Worker::daemon) on the shim connector, firing app\job\Chaos (chaos/handler.php)
 *   signals  3.x only: the same with stock 3.x's pcntl handling (chaos\SignalWorker, spec §7.2)
 *   stock    the stock algorithm (tqn\bench\StockRedisQueue on phpredis) in the queue:work loop:
 *            pop; fire + delete; if nothing, sleep --sleep
 *
 * Environment (see chaos/lib.php): CHAOS_PORT, CHAOS_QUEUE, CHAOS_RETRY (retry_after/expire),
 * CHAOS_BLOCK_FOR (native block_for; 0 = none), CHAOS_SLEEP (--sleep, default 3), CHAOS_TRIES (0).
 * The process runs until it is killed (or, with `signals`, stopped by SIGTERM); exit status = the
 * worker's stop status. Progress and reported exceptions go to stderr.
 */

declare(strict_types=1);

namespace chaos;

require __DIR__ . '/lib.php';

$gen  = $argv[1] ?? '';
$kind = $argv[2] ?? 'native';
boot($gen);

$sleep = (float) env('CHAOS_SLEEP', '3');
$tries = (int) env('CHAOS_TRIES', '0');
$extra = [];
if (blockFor() > 0) {
    $extra['block_for'] = blockFor();
}

if ($kind === 'stock') {
    stockWorker($gen, $sleep);
    exit(0);
}

fwrite(STDERR, date('H:i:s') . " $kind worker $gen pid " . getmypid() . ' on ' . queueName() . ' retry ' . retryAfter()
    . ' block_for ' . blockFor() . " sleep $sleep\n");

if ($gen === 'v1') {
    if ($kind !== 'native') {
        fwrite(STDERR, "chaos worker: kind '$kind' is not available for v1\n");
        exit(2);
    }
    setupV1($extra + ['expire' => retryAfter()]);
    $status = runWorkerV1((int) $sleep, $tries);
} else {
    $class  = $kind === 'signals' ? SignalWorker::class : \think\queue\Worker::class;
    $app    = app($extra + ['retry_after' => retryAfter()], $class);
    $status = runWorker($app, $sleep, $tries);
    Rec::flush();
}
fwrite(STDERR, date('H:i:s') . " worker pid " . getmypid() . " stopped with status $status\n");
exit($status);
