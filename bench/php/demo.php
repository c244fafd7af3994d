<?php
/*
 * The PHP half of `make demo`, for one think-queue generation per run (each generation's
 * think-queue classes have the same names, so one PHP process can load only one of them):
 *
 *   REDIS_PORT=6379 php -d extension=target/release/libthink_queue_native.so bench/php/demo.php v1
 *   REDIS_PORT=6379 php -d extension=target/release/libthink_queue_native.so bench/php/demo.php v3
 *
 *   v1 = think-queue 1.x/2.x (ThinkPHP 5.0/5.1), v3 = think-queue 3.x (ThinkPHP 6/8).
 *
 * Environment: REDIS_PORT (required), REDIS_HOST (127.0.0.1), DEMO_JOBS (10000 per round),
 * DEMO_ROUNDS (3), DEMO_REQUIRE_NATIVE=1 (fail when the extension is not loaded).
 *
 * The native side is think-queue as a ThinkPHP app runs it: the generation's think-queue
 * stand-ins (tests/php/<gen>/thinkqueue: facade, Connector, Job, Worker) with the queue config a
 * user writes, changed in one word to the shim connector (php/src, loaded by php/autoload.php):
 *   v1: Config 'queue' => ['connector' => 'think\queue\native\connector\Redis', 'expire' => 60, ...]
 *   v3: config queue.connections.redis.type = 'think\queue\native\connector\Redis'
 * Producer: the facade (v1 think\Queue::push, v3 think\facade\Queue::push). Consumer: the
 * stand-in think\queue\Worker (v1: the queue:work --daemon loop, Worker::pop until it finds
 * nothing; v3: Worker::daemon, whose idle sleep runs queue:restart so it stops once the queue is
 * empty), which resolves and fires app\job\SendSms, a handler written as the ThinkPHP docs show:
 * fire(Job $job, $data) { ...; $job->delete(); }.
 *
 * The baseline is tqn\bench\StockRedisQueue (StockRedisQueue.php): stock think-queue's Redis
 * connector and job command sequences on phpredis, built from the same config array, drained by a
 * bare loop (pop, fire a no-op handler, delete). The native figures therefore include the
 * think-queue worker/facade/handler-resolution overhead that the bare baseline loop does not pay.
 *
 * It prints: interop proof both ways (a job pushed through the shim popped by stock, a job pushed
 * by stock run by the shim worker; bytes printed), then DEMO_ROUNDS rounds alternating baseline
 * and native (A B A B ...), each pushing DEMO_JOBS jobs one call at a time into a fresh queue and
 * draining it; the table shows the median jobs/s. A PING round trip measured in the same run is
 * the floor: one round trip per operation cannot go faster than that.
 *
 * Results and bytes go to stdout, progress to stderr. Exit status: 0 ok; 1 a job was lost or
 * duplicated, interop bytes differ, or a worker reported an error; 2 usage/connection error;
 * 3 native required but missing. The queues used are named tqn-demo-* and are checked empty
 * before use and left empty.
 */

declare(strict_types=1);

// ------------------------------------------------------------------------ the job handlers

namespace app\job {

    use think\queue\Job;
    use tqn\demo\Tally;

    /** The no-op job of the native side, written as the think-queue documentation shows. */
    class SendSms
    {
        public function fire(Job $job, $data)
        {
            Tally::record($data); // the "work": the demo's count of deliveries per job

            $job->delete();
        }
    }

    /** The interop job: keeps what the native worker handed it, then deletes it. */
    class Interop
    {
        public function fire(Job $job, $data)
        {
            Tally::$interop[] = [
                'job'      => get_class($job),
                'name'     => $job->getName(),
                'id'       => $job->getJobId(),
                'attempts' => $job->attempts(),
                'raw'      => $job->getRawBody(),
                'reserved' => $job->getReservedJob(),
                'data'     => $data,
            ];

            $job->delete();
        }
    }
}

namespace tqn\demo {

    use tqn\bench\StockJob;
    use tqn\bench\StockRedisQueue;
    use tqn\bench\ThinkQueueApp;
    use function tqn\bench\{jobData, leftover, median, rate, readyKey};

    require_once __DIR__ . '/lib.php'; // ThinkQueueApp, boot() and the helpers shared with bench.php

    const DEMO_JOB = 'app\job\SendSms';

    /** Deliveries per job (by the pushed data's `n`), and what the interop handler saw. */
    final class Tally
    {
        /** @var array<int, int> */
        public static $seen = [];
        /** @var array<int, array> */
        public static $interop = [];

        public static function record($data): void
        {
            $n = $data['n'];
            self::$seen[$n] = (self::$seen[$n] ?? 0) + 1;
        }

        /** '' when every n in 0..$jobs-1 was handled exactly once, else what went wrong. */
        public static function check(int $jobs): string
        {
            $dups = 0;
            foreach (self::$seen as $count) {
                $dups += $count - 1;
            }
            $lost = 0;
            for ($n = 0; $n < $jobs; $n++) {
                $lost += isset(self::$seen[$n]) ? 0 : 1;
            }

            return $dups || $lost ? "handled " . count(self::$seen) . " distinct, $dups duplicate(s), $lost lost" : '';
        }
    }

    /** The baseline's no-op handler: the same work as app\job\SendSms, on a stock job. */
    final class StockSendSms
    {
        public function fire(StockJob $job, $data): void
        {
            Tally::record($data);

            $job->delete();
        }
    }

    function progress(string $line): void
    {
        fwrite(STDERR, $line . "\n");
    }

    function fmtRate(?float $r): string
    {
        return $r === null ? 'n/a' : number_format($r, 0, '.', ',');
    }

    function pingFloor(\Redis $r, int $n): float
    {
        $t = hrtime(true);
        for ($i = 0; $i < $n; $i++) {
            $r->ping();
        }

        return (hrtime(true) - $t) / 1e3 / $n; // microseconds per round trip
    }

    /** Prints a byte string on its own indented line. */
    function showBytes(string $label, string $bytes): void
    {
        printf("    %-26s %s\n", $label, $bytes);
    }

    function showJson($value): string
    {
        return json_encode($value, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    }

    // ------------------------------------------------------------------------------ the rounds

    /** @return array{0: float, 1: float} push seconds, worker seconds */
    function roundBaseline(StockRedisQueue $q, string $queue, int $jobs): array
    {
        $t = hrtime(true);
        for ($i = 0; $i < $jobs; $i++) {
            $q->push(DEMO_JOB, jobData($i), $queue);
        }
        $push = (hrtime(true) - $t) / 1e9;

        $t = hrtime(true);
        while (($job = $q->pop($queue)) !== null) {
            (new StockSendSms())->fire($job, $job->getData());
        }
        $drain = (hrtime(true) - $t) / 1e9;

        return [$push, $drain];
    }

    /** @return array{0: float, 1: float} */
    function roundNative(ThinkQueueApp $tq, string $queue, int $jobs): array
    {
        $t = hrtime(true);
        for ($i = 0; $i < $jobs; $i++) {
            $tq->push(DEMO_JOB, jobData($i), $queue);
        }
        $push = (hrtime(true) - $t) / 1e9;

        $t = hrtime(true);
        $tq->drain($queue);
        $drain = (hrtime(true) - $t) / 1e9;

        return [$push, $drain];
    }

    // ----------------------------------------------------------------------------------- interop

    function interop(string $gen, ThinkQueueApp $tq, StockRedisQueue $stock, \Redis $admin, array &$failures): void
    {
        $queue = 'tqn-demo-interop';
        $ready = readyKey($gen, $queue);
        if (leftover($admin, $gen, $queue) !== 0) {
            $failures[] = "$gen interop: queue $queue is not empty, refusing to use it";

            return;
        }
        $facade = $gen === 'v1' ? 'think\Queue::push' : 'think\facade\Queue::push';

        echo "\n-- interop: $facade (shim connector) -> stock worker (StockRedisQueue::pop)\n";
        $data  = ['from' => 'native', 'zh' => '你好', 'url' => 'https://x.cn/a'];
        $id    = $tq->push('app\job\Interop', $data, $queue);
        $bytes = $admin->lRange($ready, 0, -1);
        showBytes("RPUSH $ready", $bytes[0] ?? '(nothing)');
        $job = $stock->pop($queue);
        if ($job === null) {
            $failures[] = "$gen interop: the stock worker found no job pushed through the shim";
        } else {
            showBytes('stock getRawBody()', $job->getRawBody());
            showBytes('stock reserved member', $job->getReservedBody());
            printf("    stock handler sees: name=%s id=%s attempts=%d data=%s\n", $job->getName(), $job->getJobId(),
                $job->attempts(), showJson($job->getData()));
            if ($job->getRawBody() !== ($bytes[0] ?? null) || $job->getJobId() !== $id || $job->attempts() !== 1
                || $job->getData() !== $data) {
                $failures[] = "$gen interop: stock read something else than the shim wrote";
            }
            $job->delete();
        }

        echo "-- interop: stock push (StockRedisQueue::push) -> think\\queue\\Worker (shim connector) -> app\\job\\Interop::fire\n";
        $data  = ['from' => 'stock', 'zh' => '你好', 'url' => 'https://x.cn/a'];
        $id    = $stock->push('app\job\Interop', $data, $queue);
        $bytes = $admin->lRange($ready, 0, -1);
        showBytes("RPUSH $ready", $bytes[0] ?? '(nothing)');
        Tally::$interop = [];
        $tq->workOnce($queue);
        $tq->call('getRedisQueue')->flush(); // the job's delete() is written behind (deferred_ack): send it now
        $seen = Tally::$interop[0] ?? null;
        if ($seen === null) {
            $failures[] = "$gen interop: the shim worker ran no job pushed by stock";
        } else {
            showBytes('native $job->getRawBody()', $seen['raw']);
            showBytes('native reserved member', $seen['reserved']);
            printf("    fire(Job \$job, \$data) sees: %s name=%s id=%s attempts=%d data=%s\n", $seen['job'], $seen['name'],
                $seen['id'], $seen['attempts'], showJson($seen['data']));
            if ($seen['raw'] !== ($bytes[0] ?? null) || $seen['id'] !== $id || $seen['attempts'] !== 1 || $seen['data'] !== $data) {
                $failures[] = "$gen interop: the shim worker read something else than stock wrote";
            }
        }
        foreach ($tq->reported() as $e) {
            $failures[] = "$gen interop: the worker reported " . get_class($e) . ': ' . $e->getMessage();
        }
        if (($left = leftover($admin, $gen, $queue)) !== 0) {
            $failures[] = "$gen interop: $left job(s) left in $queue";
        }
    }
}

// ------------------------------------------------------------------------------------ main

namespace tqn\demo {

    use tqn\bench\StockRedisQueue;
    use tqn\bench\ThinkQueueApp;
    use function tqn\bench\{boot, leftover, median, rate};

    $labels = ['v1' => 'think-queue 1.x/2.x (ThinkPHP 5.0/5.1), keys queues:NAME',
               'v3' => 'think-queue 3.x (ThinkPHP 6/8), keys {queues:NAME}'];
    $gen = $argv[1] ?? '';
    if (!isset($labels[$gen])) {
        fwrite(STDERR, "usage: REDIS_PORT=P php -d extension=.../libthink_queue_native.so bench/php/demo.php v1|v3\n");
        exit(2);
    }
    $port = getenv('REDIS_PORT');
    if ($port === false || !ctype_digit($port)) {
        fwrite(STDERR, "demo.php: set REDIS_PORT to the port of a redis-server this demo may use\n");
        exit(2);
    }
    $host   = getenv('REDIS_HOST') ?: '127.0.0.1';
    $jobs   = max(1, (int) (getenv('DEMO_JOBS') ?: 10000));
    $rounds = max(1, (int) (getenv('DEMO_ROUNDS') ?: 3));

    boot($gen); // think-queue stand-ins of this generation, the shims, the baseline (lib.php)

    $native = extension_loaded('think_queue_native') && class_exists('think\queue\native\RedisQueue', false);
    if (!$native) {
        $msg = 'the think_queue_native extension is not loaded (php -d extension=.../libthink_queue_native.so)';
        if (getenv('DEMO_REQUIRE_NATIVE') === '1') {
            fwrite(STDERR, "demo.php: $msg\n");
            exit(3);
        }
        progress("!! $msg: showing the stock baseline alone");
    }

    try {
        $admin = new \Redis();
        $admin->connect($host, (int) $port, 2.0);
        $admin->ping();
    } catch (\RedisException $e) {
        fwrite(STDERR, "demo.php: cannot reach redis at $host:$port: {$e->getMessage()}\n");
        exit(2);
    }

    $failures = [];
    $samples  = ['baseline' => ['push' => [], 'drain' => [], 'both' => []],
                 'native'   => ['push' => [], 'drain' => [], 'both' => []]];
    $pingN    = min($jobs, 20000);
    $pings    = [pingFloor($admin, $pingN)];
    $stockRelease = $gen === 'v1' ? 'v1.1.6' : 'v3.0.9';

    echo "think-queue-native PHP demo: {$labels[$gen]}\n";
    echo "redis " . ($admin->info('server')['redis_version'] ?? '?') . " at $host:$port, PHP " . PHP_VERSION
        . ($native ? ', extension think_queue_native ' . \think\queue\native\version() : '')
        . ", $jobs jobs per round, $rounds rounds per side (A B A B ...), median reported\n";

    try {
        $tq    = $native ? new ThinkQueueApp($gen, $host, (int) $port) : null;
        $stock = new StockRedisQueue($tq ? $tq->connectorConfig() : ['host' => $host, 'port' => (int) $port], $gen);
        if ($tq !== null) {
            echo "  native:   think-queue stand-ins ($gen) + the shim, " . $tq->configLine() . ";\n"
                . '            ' . ($gen === 'v1' ? 'think\Queue::push' : 'think\facade\Queue::push') . "(), consumed by think\\queue\\Worker ("
                . ($gen === 'v1' ? 'the queue:work --daemon loop of Worker::pop' : 'Worker::daemon')
                . ") running app\\job\\SendSms::fire(Job \$job, \$data) { \$job->delete(); }\n";
        }
        echo "  baseline: tqn\\bench\\StockRedisQueue (stock think-queue $stockRelease Redis connector + job, command for command, on phpredis),\n"
            . "            same config; loop: pop, fire a no-op handler, \$job->delete()\n";

        if ($tq !== null) {
            interop($gen, $tq, $stock, $admin, $failures);
        }

        // warm-up (not measured): loads code paths and connections on both sides
        $warm = min($jobs, 500);
        foreach (['baseline', 'native'] as $side) {
            if ($side === 'native' && $tq === null) {
                continue;
            }
            $queue = "tqn-demo-warm-$gen";
            if (leftover($admin, $gen, $queue) !== 0) {
                $failures[] = "$gen $side warm-up: queue $queue is not empty, skipped";
                continue;
            }
            Tally::$seen = [];
            $side === 'baseline' ? roundBaseline($stock, $queue, $warm) : roundNative($tq, $queue, $warm);
            if (($problem = Tally::check($warm)) !== '' || ($left = leftover($admin, $gen, $queue)) !== 0) {
                $failures[] = "$gen $side warm-up: pushed $warm, " . ($problem ?: "left in Redis $left");
            }
        }

        for ($r = 1; $r <= $rounds; $r++) {
            foreach (['baseline', 'native'] as $side) {
                if ($side === 'native' && $tq === null) {
                    continue;
                }
                $queue = "tqn-demo-$gen-$side-$r";
                if (leftover($admin, $gen, $queue) !== 0) {
                    $failures[] = "$gen $side round $r: queue $queue is not empty, skipped";
                    continue;
                }
                Tally::$seen = [];
                if ($side === 'native') {
                    $tq->fresh();
                }
                gc_collect_cycles();
                [$push, $drain] = $side === 'baseline' ? roundBaseline($stock, $queue, $jobs) : roundNative($tq, $queue, $jobs);
                $left     = leftover($admin, $gen, $queue);
                $handled  = array_sum(Tally::$seen);
                $problem  = Tally::check($jobs);
                $reported = $side === 'native' ? $tq->reported() : [];
                progress(sprintf('   %s round %d/%d %-8s push %7.3f s  worker %7.3f s  pushed %d handled %d left %d',
                    $gen, $r, $rounds, $side, $push, $drain, $jobs, $handled, $left));
                if ($problem !== '' || $left !== 0) {
                    $failures[] = "$gen $side round $r: pushed $jobs, " . ($problem ?: 'each handled once') . ", left in Redis $left";
                }
                foreach ($reported as $e) {
                    $failures[] = "$gen $side round $r: the worker reported " . get_class($e) . ': ' . $e->getMessage();
                }
                $samples[$side]['push'][]  = rate($jobs, $push);
                $samples[$side]['drain'][] = rate($handled, $drain);
                $samples[$side]['both'][]  = rate($handled, $push + $drain);
            }
        }
    } catch (\Throwable $e) {
        $failures[] = "$gen: " . get_class($e) . ': ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine();
    }
    $pings[] = pingFloor($admin, $pingN);

    // ---------------------------------------------------------------------------------- table

    $rows = [
        'push'  => ['push (1 job per call)', '1', '1'],
        'drain' => ['worker: pop + fire + delete', '9', '1'],
        'both'  => ['push, then worker (end to end)', '10', '2'],
    ];
    $rtt = median($pings);
    echo "\n$gen: {$labels[$gen]}; median of $rounds rounds x $jobs jobs\n";
    printf("  floor: PING round trip (phpredis, measured before and after the rounds) %.1f us"
        . " = at most %s one-round-trip operations/s per connection\n", $rtt, fmtRate(1e6 / $rtt));
    printf("  %-32s %15s %15s %8s   %s\n", 'operation', 'baseline jobs/s', 'native jobs/s', 'ratio', 'round trips/job stock -> native');
    foreach ($rows as $key => [$label, $rtStock, $rtNative]) {
        $b = $samples['baseline'][$key] ? median($samples['baseline'][$key]) : null;
        $n = $samples['native'][$key] ? median($samples['native'][$key]) : null;
        printf("  %-32s %15s %15s %8s   %s -> %s\n", $label, fmtRate($b), fmtRate($n),
            $b && $n ? sprintf('%.2fx', $n / $b) : 'n/a', $rtStock, $rtNative);
    }
    $spread = 1.0;
    foreach ($samples as $ops) {
        foreach ($ops as $xs) {
            if (count($xs) > 1 && min($xs) > 0) {
                $spread = max($spread, max($xs) / min($xs));
            }
        }
    }
    printf("  round-to-round spread (slowest vs fastest round of one side and operation): up to %.2fx%s\n",
        $spread, $spread > 1.5 ? ' -- a busy machine: treat these medians as indicative' : '');
    echo "  (native = think-queue facade push and think\\queue\\Worker with handler resolution, through the shim;\n"
        . "   baseline = a bare loop over the stock algorithm, without think-queue's worker overhead.\n"
        . "   Round trips by design: stock pop = WATCH, ZRANGEBYSCORE, UNWATCH for :delayed and again for\n"
        . "   :reserved, LPOP, ZADD = 8, plus ZREM on delete; native pop = one script, which also carries\n"
        . "   the previous job's delete (written behind: the shim's default deferred_ack).)\n";

    if (!$native) {
        echo "\nnative: not measured (extension not loaded)\n";
    }
    if ($failures) {
        echo "\nFAILED:\n  - " . implode("\n  - ", $failures) . "\n";
        exit(1);
    }
    echo "\n$gen: no job lost or duplicated: every round handled each pushed job exactly once and left its queue empty\n";
    exit(0);
}
