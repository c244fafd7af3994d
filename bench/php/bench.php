<?php
/*
 * One measurement of `make bench` (driven by bench/run.py), in its own PHP process:
 *
 *   REDIS_PORT=P php -d extension=target/release/libthink_queue_native.so bench/php/bench.php OP SIDE GEN [key=value ...]
 *
 * GEN: v1 (think-queue 1.x/2.x, keys queues:NAME) or v3 (3.x, keys {queues:NAME}).
 * SIDE: the connector in the think-queue app's config; everything else is the same program:
 *   baseline        tqn\bench\StockConnector: stock think-queue's Redis connector and job, command
 *                   for command (StockRedisQueue.php, on phpredis)
 *   native          think\queue\native\connector\Redis: the shim over the extension (its defaults)
 *   baseline_blpop  (pickup-worker, v3 only) the baseline with `block_for` 5: stock 3.x's BLPOP
 * OP (jobs=N sets the size):
 *   push     N x facade push(JOB, ['mobile' => ..., 'n' => i], queue)
 *   later    N x facade later(60, JOB, data, queue)
 *   bulk     N jobs at once: native facade bulk(); baseline stock's bulk (3.x: the base class's
 *            loop of push(); 1.x has no bulk, so the loop of push() a 1.x app writes)
 *   pop      N jobs prefilled, then connector pop() + $job->delete() until pop() finds nothing
 *   worker   N jobs prefilled, then think-queue's Worker (1.x `queue:work --daemon` loop, 3.x
 *            Worker::daemon) runs app\job\SendSms::fire(Job $job, $data) { $job->delete(); }
 *            until the queue is empty
 *   migrate  N jobs prefilled in :delayed with due scores, then until all are in the ready list:
 *            baseline pop()'s migration sequence once (StockRedisQueue::migrateDue), native
 *            RedisQueue::migrate() until it moves nothing
 *   memory   the worker over N jobs prefilled by `prefill`: RSS after rss_at jobs and at the end
 *   pickup-worker   an idle worker with stock's --sleep (sleep=3) until samples=K jobs ran; each
 *            job carries its push time, the handler records now - that time
 *   pickup-producer K jobs pushed by a plain stock push (one RPUSH), gaps of gap=A:B ms (random)
 *   prefill  N jobs (delayed=1: in :delayed, due) with stock's payloads, pipelined
 *   ping     N phpredis PINGs, one at a time: the round trip as a PHP client sees it
 * Timed parts exclude prefills and a warm-up of the same operation (warm=N, default 200) on
 * another queue. Every op checks what Redis holds afterwards (all jobs there, or all handled
 * exactly once and nothing left) and deletes its keys.
 *
 * Output: one JSON line on stdout; errors on stderr, exit 1 (2: usage, 3: extension missing).
 * With mark=1 the admin connection sends ECHO tqn-bench-begin / tqn-bench-end around the timed
 * part, for the MONITOR check of bench/run.py.
 */

declare(strict_types=1);

namespace app\job {

    use think\queue\Job;
    use tqn\bench\Counter;

    /** The job class of every side: a no-op handler written as the think-queue documentation shows. */
    class SendSms
    {
        public function fire(Job $job, $data)
        {
            Counter::fired($data);

            $job->delete();
        }
    }
}

namespace tqn\bench {

    const JOB = 'app\job\SendSms';

    /** Deliveries seen by the handler, and an optional hook per delivery (latency, RSS). */
    final class Counter
    {
        /** @var int */
        public static $n = 0;
        /** @var \Closure|null */
        public static $hook;

        public static function fired($data): void
        {
            self::$n++;
            if (self::$hook !== null) {
                (self::$hook)($data);
            }
        }
    }

    final class BenchFailure extends \RuntimeException
    {
    }

    function fail(string $message): void
    {
        throw new BenchFailure($message);
    }

    function opt(array $opts, string $key, $default)
    {
        return array_key_exists($key, $opts) ? $opts[$key] : $default;
    }

    function percentile(array $xs, float $p): float
    {
        sort($xs);
        $n = count($xs);
        if ($n === 0) {
            return NAN;
        }
        // nearest rank
        $rank = (int) ceil($p / 100 * $n);

        return (float) $xs[max(0, min($n - 1, $rank - 1))];
    }

    /** An auxiliary connection (prefills, checks), named so the MONITOR check can leave it out. */
    function auxRedis(string $host, int $port): \Redis
    {
        $r = new \Redis();
        $r->connect($host, $port, 2.0);
        $r->client('setname', 'tqn-bench-aux');

        return $r;
    }

    /**
     * Stock payloads, pipelined (RPUSH, or ZADD with a due score when $delayed): the bytes stock
     * push/later write, through StockRedisQueue's own methods with its client in pipeline mode.
     */
    function prefill(string $gen, string $host, int $port, string $queue, int $n, bool $delayed): void
    {
        $stock = new StockRedisQueue(['host' => $host, 'port' => $port], $gen);
        $stock->redis()->client('setname', 'tqn-bench-aux');
        for ($i = 0; $i < $n; $i += 1000) {
            $stock->redis()->multi(\Redis::PIPELINE);
            for ($j = $i; $j < min($n, $i + 1000); $j++) {
                $delayed ? $stock->later(-10, JOB, jobData($j), $queue) : $stock->push(JOB, jobData($j), $queue);
            }
            $stock->redis()->exec();
        }
        $stock->redis()->close();
    }

    /** The think-queue app of a side. */
    function appFor(string $side, string $gen, string $host, int $port, array $opts): ThinkQueueApp
    {
        switch ($side) {
            case 'native':
            case 'ffi': // the same shim; the process has no extension, the FFI library serves
                $extra = [];
                if (($opts['block_for'] ?? null) !== null) {
                    $extra['block_for'] = (float) $opts['block_for'];
                }
                if (($opts['metrics'] ?? null) === '0') {
                    $extra['metrics'] = false; // make bench's metrics-cost column
                }

                return new ThinkQueueApp($gen, $host, $port, SHIM_CONNECTOR, $extra);
            case 'baseline':
                return new ThinkQueueApp($gen, $host, $port, STOCK_CONNECTOR);
            case 'baseline_blpop':
                if ($gen !== 'v3') {
                    fail('baseline_blpop: stock think-queue 1.x/2.x has no block_for');
                }

                return new ThinkQueueApp($gen, $host, $port, STOCK_CONNECTOR, ['block_for' => (int) ($opts['block_for'] ?? 5)]);
        }
        fail("unknown side '$side'");
    }

    /** Whether the app runs the shim connector. */
    function nativeSide(ThinkQueueApp $tq): bool
    {
        $config = $tq->connectorConfig();

        return ($config['connector'] ?? $config['type'] ?? '') === SHIM_CONNECTOR;
    }

    function checkEmpty(\Redis $admin, string $gen, string $queue): void
    {
        if (($left = leftover($admin, $gen, $queue)) !== 0) {
            fail("queue $queue holds $left job(s) before the run");
        }
    }

    function checkReported(ThinkQueueApp $tq): void
    {
        foreach ($tq->reported() as $e) {
            fail('the worker reported ' . get_class($e) . ': ' . $e->getMessage());
        }
    }

    /** Runs the timed callable, with optional MONITOR markers; returns seconds. */
    function timed(\Redis $admin, bool $mark, \Closure $work): float
    {
        gc_collect_cycles();
        if ($mark) {
            $admin->echo('tqn-bench-begin');
        }
        $t = hrtime(true);
        $work();
        $seconds = (hrtime(true) - $t) / 1e9;
        if ($mark) {
            $admin->echo('tqn-bench-end');
        }

        return $seconds;
    }

    // ------------------------------------------------------------------------- the operations

    /** push / later / bulk: the producer calls, then a check of what Redis holds. */
    function produce(string $op, string $side, string $gen, ThinkQueueApp $tq, \Redis $admin, string $queue, int $n, bool $mark): array
    {
        $ready = readyKey($gen, $queue);
        $jobs  = array_fill(0, $n, JOB);
        $data0 = jobData(0);
        $run   = static function (string $q, int $count) use ($op, $side, $gen, $tq, $jobs, $data0): void {
            switch ($op) {
                case 'push':
                    for ($i = 0; $i < $count; $i++) {
                        $tq->push(JOB, jobData($i), $q);
                    }
                    break;
                case 'later':
                    for ($i = 0; $i < $count; $i++) {
                        $tq->later(60, JOB, jobData($i), $q);
                    }
                    break;
                case 'bulk':
                    if ($side === 'baseline' && $gen === 'v1') {
                        for ($i = 0; $i < $count; $i++) {   // stock 1.x has no bulk(): the loop an app writes
                            $tq->push(JOB, $data0, $q);
                        }
                    } else {
                        $tq->bulk($count === count($jobs) ? $jobs : array_fill(0, $count, JOB), $data0, $q);
                    }
                    break;
            }
        };
        $seconds = timed($admin, $mark, static function () use ($run, $queue, $n) {
            $run($queue, $n);
        });
        $stored = $op === 'later' ? $admin->zCard("$ready:delayed") : $admin->lLen($ready);
        if ($stored !== $n) {
            fail("$op: $n jobs written, Redis holds $stored");
        }
        $extra = [];
        if ($op === 'bulk') {
            $extra['method'] = ($side === 'baseline') ? ($gen === 'v1' ? 'push loop (1.x has no bulk)' : 'stock bulk() = loop of push()') : 'bulk()';
        }

        return $extra + ['seconds' => $seconds];
    }

    /** pop + delete through the connector (no worker). */
    function popDelete(ThinkQueueApp $tq, \Redis $admin, string $gen, string $queue, int $n, bool $mark): array
    {
        $done    = 0;
        $seconds = timed($admin, $mark, static function () use ($tq, $queue, &$done) {
            while (($job = $tq->pop($queue)) !== null) {
                $job->delete();
                $done++;
            }
        });
        if ($done !== $n || ($left = leftover($admin, $gen, $queue)) !== 0) {
            fail("pop: $n prefilled, $done popped, " . ($left ?? '?') . ' left in Redis');
        }

        return ['seconds' => $seconds];
    }

    /** The think-queue worker until the queue is empty. */
    function workerDrain(ThinkQueueApp $tq, \Redis $admin, string $gen, string $queue, int $n, bool $mark): array
    {
        Counter::$n = 0;
        $seconds    = timed($admin, $mark, static function () use ($tq, $queue) {
            $tq->drain($queue);
        });
        checkReported($tq);
        if (Counter::$n !== $n || ($left = leftover($admin, $gen, $queue)) !== 0) {
            fail("worker: $n prefilled, " . Counter::$n . ' handled, ' . ($left ?? '?') . ' left in Redis');
        }

        return ['seconds' => $seconds];
    }

    function migrate(string $side, ThinkQueueApp $tq, \Redis $admin, string $gen, string $queue, int $n, bool $mark): array
    {
        $ready = readyKey($gen, $queue);
        $calls = 0;
        $seconds = timed($admin, $mark, static function () use ($side, $tq, $queue, &$calls) {
            if ($side === 'native' || $side === 'ffi') {
                $rq = $tq->call('getRedisQueue');
                do {
                    $moved = $rq->migrate($queue);
                    $calls++;
                } while ($moved['delayed'] > 0);
            } else {
                $tq->call('stock')->migrateDue($queue);
                $calls++;
            }
        });
        $inReady = $admin->lLen($ready);
        $delayed = $admin->zCard("$ready:delayed");
        if ($inReady !== $n || $delayed !== 0) {
            fail("migrate: $n due, ready list holds $inReady, delayed set $delayed");
        }

        return ['seconds' => $seconds, 'calls' => $calls];
    }

    function memory(ThinkQueueApp $tq, \Redis $admin, string $gen, string $queue, int $n, int $rssAt): array
    {
        $stored = $admin->lLen(readyKey($gen, $queue));
        if ($stored !== $n) {
            fail("memory: expected $n prefilled jobs, found $stored");
        }
        $boot        = rssKb();
        $start       = null;
        $phpStart    = null;
        Counter::$n  = 0;
        Counter::$hook = static function () use ($rssAt, &$start, &$phpStart) {
            if (Counter::$n === $rssAt) {
                $start    = rssKb();
                $phpStart = memory_get_usage();
            }
        };
        $t = hrtime(true);
        $tq->drain($queue);
        $seconds = (hrtime(true) - $t) / 1e9;
        Counter::$hook = null;
        gc_collect_cycles();
        $end = rssKb();
        checkReported($tq);
        if (Counter::$n !== $n || ($left = leftover($admin, $gen, $queue)) !== 0) {
            fail("memory: $n prefilled, " . Counter::$n . ' handled, ' . ($left ?? '?') . ' left in Redis');
        }

        return ['seconds' => $seconds, 'rss_boot_kb' => $boot, 'rss_start_kb' => $start, 'rss_end_kb' => $end,
                'rss_growth_kb' => $end - $start, 'rss_at' => $rssAt,
                'php_mem_start' => $phpStart, 'php_mem_end' => memory_get_usage()];
    }

    function pickupWorker(ThinkQueueApp $tq, \Redis $admin, string $gen, string $queue, int $samples, int $sleep, ?string $ready): array
    {
        $lat        = [];
        Counter::$n = 0;
        Counter::$hook = static function ($data) use (&$lat) {
            $lat[] = (microtime(true) - (float) $data['t']) * 1000.0;
        };
        if ($ready !== null) {
            touch($ready);
        }
        $tq->work($queue, $sleep, static function () use ($samples) {
            return Counter::$n >= $samples;
        });
        Counter::$hook = null;
        if (nativeSide($tq)) {
            // the worker stops right after its last job, before another pop could carry that
            // job's delete written behind (deferred_ack); a real worker process sends it when it
            // exits (the connector's destructor): here, close() sends it before the check
            $tq->call('getRedisQueue')->close();
        }
        checkReported($tq);
        if (count($lat) !== $samples || ($left = leftover($admin, $gen, $queue)) !== 0) {
            fail("pickup: $samples expected, " . count($lat) . ' handled, ' . ($left ?? '?') . ' left in Redis');
        }

        return ['samples' => $samples, 'sleep' => $sleep, 'p50_ms' => percentile($lat, 50), 'p99_ms' => percentile($lat, 99),
                'max_ms' => max($lat), 'lat_ms' => array_map(static function ($x) {
                    return round($x, 3);
                }, $lat)];
    }

    function pickupProducer(string $gen, string $host, int $port, string $queue, int $samples, float $gapMin, float $gapMax): array
    {
        $stock = new StockRedisQueue(['host' => $host, 'port' => $port], $gen);
        $stock->redis()->client('setname', 'tqn-bench-aux');
        mt_srand(crc32($queue));
        for ($i = 0; $i < $samples; $i++) {
            $gap = $gapMin + ($gapMax - $gapMin) * mt_rand() / mt_getrandmax();
            usleep((int) ($gap * 1000));
            $stock->push(JOB, ['mobile' => '13800000000', 'n' => $i, 't' => microtime(true)], $queue);
        }

        return ['samples' => $samples, 'gap_ms' => [$gapMin, $gapMax]];
    }

    // ----------------------------------------------------------------------------------- main

    function main(array $argv): int
    {
        [$op, $side, $gen] = [$argv[1] ?? '', $argv[2] ?? '', $argv[3] ?? ''];
        $opts = [];
        foreach (array_slice($argv, 4) as $arg) {
            if (strpos($arg, '=') === false) {
                fwrite(STDERR, "bench.php: expected key=value, got '$arg'\n");

                return 2;
            }
            [$k, $v] = explode('=', $arg, 2);
            $opts[$k] = $v;
        }
        $ops = ['push', 'later', 'bulk', 'pop', 'worker', 'migrate', 'memory', 'pickup-worker', 'pickup-producer', 'prefill', 'ping'];
        if (!in_array($op, $ops, true) || !in_array($gen, ['v1', 'v3'], true)) {
            fwrite(STDERR, "usage: REDIS_PORT=P php -d extension=.../libthink_queue_native.so bench/php/bench.php OP SIDE v1|v3 [key=value ...]\n"
                . '  OP: ' . implode(' ', $ops) . "\n  SIDE: baseline native ffi baseline_blpop\n");

            return 2;
        }
        $port = getenv('REDIS_PORT');
        if ($port === false || !ctype_digit($port)) {
            fwrite(STDERR, "bench.php: set REDIS_PORT\n");

            return 2;
        }
        $port = (int) $port;
        $host = getenv('REDIS_HOST') ?: '127.0.0.1';

        require_once __DIR__ . '/lib.php';
        boot($gen);
        if ($side === 'ffi') {
            // the FFI side: no extension, the library named by THINK_QUEUE_NATIVE_FFI
            if (extension_loaded('think_queue_native') || !getenv('THINK_QUEUE_NATIVE_FFI')) {
                fwrite(STDERR, "bench.php: side ffi runs without the extension, with THINK_QUEUE_NATIVE_FFI=.../libthink_queue_native_ffi.so\n");

                return 3;
            }
        } elseif (!nativeLoaded()) {
            // the other sides run with the extension loaded, so their processes are the same kind
            fwrite(STDERR, "bench.php: the think_queue_native extension is not loaded (php -d extension=.../libthink_queue_native.so)\n");

            return 3;
        }

        $n      = max(1, (int) opt($opts, 'jobs', 10000));
        $round  = (int) opt($opts, 'round', 0);
        $queue  = (string) opt($opts, 'queue', "tqn-bench-$op-$side-$round");
        $warmN  = (int) opt($opts, 'warm', min(200, $n));
        $mark   = opt($opts, 'mark', '0') === '1';
        $result = ['bench' => 'queue', 'op' => $op, 'dialect' => $gen, 'side' => $side, 'round' => $round, 'jobs' => $n];

        try {
            $admin = auxRedis($host, $port);
            if ($op === 'prefill') {
                prefill($gen, $host, $port, $queue, $n, opt($opts, 'delayed', '0') === '1');
                echo json_encode($result + ['queue' => $queue]) . "\n";

                return 0;
            }
            if ($op === 'ping') {
                // the floor as a PHP client sees it: phpredis PING, one at a time
                $r = new \Redis();
                $r->connect($host, $port, 2.0);
                for ($i = 0; $i < 1000; $i++) {
                    $r->ping();
                }
                $t = hrtime(true);
                for ($i = 0; $i < $n; $i++) {
                    $r->ping();
                }
                $seconds = (hrtime(true) - $t) / 1e9;
                echo json_encode(['bench' => 'ping_client', 'client' => 'phpredis', 'pings' => $n, 'rtt_us' => $seconds * 1e6 / $n]) . "\n";

                return 0;
            }
            if ($op === 'pickup-producer') {
                [$a, $b] = array_map('floatval', explode(':', (string) opt($opts, 'gap', '0:3000')) + [1 => 3000]);
                $out = pickupProducer($gen, $host, $port, $queue, (int) opt($opts, 'samples', 15), $a, $b);
                unset($result['jobs']);
                echo json_encode($result + $out) . "\n";

                return 0;
            }

            $tq = appFor($side, $gen, $host, $port, $opts);
            if (!in_array($op, ['memory', 'pickup-worker'], true)) {
                checkEmpty($admin, $gen, $queue);
            }

            // warm-up: the same operation on another queue, not timed
            $warmQueue = "tqn-bench-warm-$op-$side";
            if ($warmN > 0 && in_array($op, ['push', 'later', 'bulk', 'pop', 'worker', 'migrate'], true)) {
                clearQueue($admin, $gen, $warmQueue);
                if ($op === 'pop' || $op === 'worker' || $op === 'migrate') {
                    prefill($gen, $host, $port, $warmQueue, $warmN, $op === 'migrate');
                }
                switch ($op) {
                    case 'pop':
                        popDelete($tq, $admin, $gen, $warmQueue, $warmN, false);
                        break;
                    case 'worker':
                        workerDrain($tq, $admin, $gen, $warmQueue, $warmN, false);
                        break;
                    case 'migrate':
                        migrate($side, $tq, $admin, $gen, $warmQueue, $warmN, false);
                        break;
                    default:
                        produce($op, $side, $gen, $tq, $admin, $warmQueue, $warmN, false);
                }
                clearQueue($admin, $gen, $warmQueue);
            }

            switch ($op) {
                case 'push':
                case 'later':
                case 'bulk':
                    $out = produce($op, $side, $gen, $tq, $admin, $queue, $n, $mark);
                    break;
                case 'pop':
                    prefill($gen, $host, $port, $queue, $n, false);
                    $out = popDelete($tq, $admin, $gen, $queue, $n, $mark);
                    break;
                case 'worker':
                    prefill($gen, $host, $port, $queue, $n, false);
                    $out = workerDrain($tq, $admin, $gen, $queue, $n, $mark);
                    break;
                case 'migrate':
                    prefill($gen, $host, $port, $queue, $n, true);
                    $out = migrate($side, $tq, $admin, $gen, $queue, $n, $mark);
                    break;
                case 'memory':
                    $out = memory($tq, $admin, $gen, $queue, $n, (int) opt($opts, 'rss_at', 1000));
                    break;
                case 'pickup-worker':
                    $out = pickupWorker($tq, $admin, $gen, $queue, (int) opt($opts, 'samples', 15), (int) opt($opts, 'sleep', 3),
                        $opts['ready'] ?? null);
                    unset($result['jobs']);
                    break;
                default:
                    fail("unhandled op $op");
            }
            clearQueue($admin, $gen, $queue);
        } catch (\Throwable $e) {
            fwrite(STDERR, "bench.php $op $side $gen: " . get_class($e) . ': ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine() . "\n");

            return 1;
        }

        if (isset($out['seconds']) && isset($result['jobs'])) {
            $out['jobs_per_s'] = rate($result['jobs'], $out['seconds']);
        }
        echo json_encode($result + $out) . "\n";

        return 0;
    }

    exit(main($argv));
}
