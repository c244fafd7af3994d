<?php
/*
 * One chaos producer process:
 *
 *   php -d extension=... chaos/producer.php <v1|v3> <native|stock> <mode> <first n> <count>
 *
 * kind: native = the think-queue facade (1.x think\Queue::push, 3.x think\facade\Queue::push)
 *       through the shim connector; stock = tqn\bench\StockRedisQueue::push (stock's RPUSH).
 * mode:
 *   stream   jobs n = first .. first+count-1, one push each, CHAOS_GAP_MS ("lo-hi" or "x", default 0)
 *            between pushes; a push that fails because Redis is unreachable is retried after
 *            50 ms until it succeeds (at-least-once: the failed attempt may have landed)
 *   bulk     native only: RedisQueue::bulk() of 1,000 jobs per call (the shim's bulk path)
 *   latency  one job at a time: wait CHAOS_GAP_MS, push with `ts` = microtime(true) in the data,
 *            wait (BLPOP chaos:latsig) until the worker has fired it, next
 * Each job's data: n, plus w1/w2 (ms of work before/after the handler records it) drawn from
 * CHAOS_WORK_MS ("lo-hi" or "x", default 0) split in two halves.
 * Prints one summary line: "producer <kind> pushed <count> retries <r> seconds <s>".
 */

declare(strict_types=1);

namespace chaos;

require __DIR__ . '/lib.php';

[$gen, $kind, $mode, $first, $count] = array_slice($argv, 1) + ['', 'native', 'stream', '0', '0'];
boot($gen);
$first = (int) $first;
$count = (int) $count;

/** A random value of a "lo-hi" or "x" range. */
function pick(string $range): float
{
    if (strpos($range, '-') === false) {
        return (float) $range;
    }
    [$lo, $hi] = array_map('floatval', explode('-', $range, 2));

    return $lo + (mt_rand() / mt_getrandmax()) * ($hi - $lo);
}

function jobData(int $n): array
{
    $w = pick(env('CHAOS_WORK_MS', '0'));

    return $w > 0 ? ['n' => $n, 'w1' => round($w / 2, 1), 'w2' => round($w / 2, 1)] : ['n' => $n];
}

if ($kind === 'stock') {
    $stock = new \tqn\bench\StockRedisQueue(connection() + ($gen === 'v1'
        ? ['expire' => retryAfter(), 'default' => queueName()]
        : ['retry_after' => retryAfter(), 'queue' => queueName()]), $gen);
    $push = static function (array $data) use ($stock) {
        return $stock->push(JOB, $data, queueName());
    };
} elseif ($gen === 'v1') {
    setupV1(['expire' => retryAfter()]);
    $push = static function (array $data) {
        return pushV1(JOB, $data);
    };
} else {
    $app  = app(['retry_after' => retryAfter()]);
    $push = static function (array $data) use ($app) {
        return push($app, JOB, $data);
    };
}

$retries = 0;
$t0      = microtime(true);
$gap     = env('CHAOS_GAP_MS', '0');

if ($mode === 'bulk') {
    if ($kind !== 'native') {
        fwrite(STDERR, "producer: bulk is native only\n");
        exit(2);
    }
    $rq = $gen === 'v1' ? \think\Queue::getRedisQueue() : connector($app)->getRedisQueue();
    for ($n = $first, $end = $first + $count; $n < $end; $n += 1000) {
        $batch = [];
        for ($i = $n; $i < min($end, $n + 1000); $i++) {
            $batch[] = [JOB, jobData($i)];
        }
        $rq->bulk($batch, '', queueName());
    }
} elseif ($mode === 'latency') {
    for ($n = $first, $end = $first + $count; $n < $end; $n++) {
        work(pick($gap));
        $data       = jobData($n);
        $data['ts'] = microtime(true);
        $push($data);
        $got = Rec::run(static function (\Redis $r) {
            return $r->blPop(['chaos:latsig'], 30);
        });
        if (!$got) {
            fwrite(STDERR, "producer: job $n was not fired within 30 s\n");
            exit(1);
        }
    }
} else {
    for ($n = $first, $end = $first + $count; $n < $end; $n++) {
        $data = jobData($n);
        while (true) {
            try {
                $push($data);
                break;
            } catch (\think\queue\native\ConnectionException | \RedisException $e) {
                if ($retries++ === 0 || $retries % 20 === 0) {
                    fwrite(STDERR, date('H:i:s') . " producer $kind: push of $n failed (" . get_class($e) . ': ' . $e->getMessage() . "), retrying\n");
                }
                usleep(50000);
            }
        }
        if ($gap !== '0') {
            work(pick($gap));
        }
    }
}
printf("producer %s %s pushed %d (n %d..%d) retries %d seconds %.2f\n", $kind, $mode, $count, $first, $first + $count - 1,
    $retries, microtime(true) - $t0);
