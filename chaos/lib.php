<?php
/*
 * Shared part of the chaos scripts (chaos/worker.php, producer.php, ctl.php): boots the think-queue
 * stand-ins of ONE generation (tests/php/<gen>/thinkqueue, which declare the same class names per
 * generation) + the shims (php/autoload.php) + the stock-algorithm baseline
 * (bench/php/StockRedisQueue.php), and defines the docs-style job handler the workers fire.
 *
 * Everything a scenario needs to count survives kill -9 because it is written to Redis itself, in
 * a separate database (CHAOS_REC_DB, default 1) of the same private server:
 *   chaos:seen    hash  n -> deliveries (HINCRBY in the handler, before $job->delete())
 *   chaos:log     list  "n attempts pid fire_time kind job_id token" per delivery (when CHAOS_LOG=1)
 *   chaos:tokens  hash  token -> 1, one field per recorded delivery (what makes a retry a no-op)
 *   chaos:rec-retried  count of recordings found already applied when retried (a lost reply)
 *   chaos:lat     list  "n seconds" from push to fire (jobs whose data carries `ts`)
 *   chaos:errors  list  "pid class: message" of every exception a worker reported
 *   chaos:failed  list  "pid name raw" of every job the worker failed (3.x JobFailed / 1.x queue_failed)
 *   chaos:done    list  n of jobs whose data has `done`, pushed when their work is over (before delete)
 * The queue itself lives in database 0 (CHAOS_DB), under the stock key names.
 *
 * Environment: CHAOS_PORT (required), CHAOS_HOST (127.0.0.1), CHAOS_QUEUE (chaos),
 * CHAOS_RETRY (retry_after / expire seconds, 60), CHAOS_BLOCK_FOR (0 = no block_for),
 * CHAOS_REC_DB (1), CHAOS_LOG (1).
 */

declare(strict_types=1);

namespace chaos;

const SEEN   = 'chaos:seen';
const LOG    = 'chaos:log';
const LAT    = 'chaos:lat';
const ERRORS = 'chaos:errors';
const FAILED = 'chaos:failed';
const TOKENS = 'chaos:tokens';
const RETRIED = 'chaos:rec-retried';
const JOB    = 'app\job\Chaos';

function env(string $name, string $default = ''): string
{
    $v = getenv($name);

    return $v === false || $v === '' ? $default : $v;
}

function root(): string
{
    return dirname(__DIR__);
}

/** Loads the stand-ins of $gen, the shims and the baseline; v1/v3-only helper classes too. */
function boot(string $gen): void
{
    if ($gen !== 'v1' && $gen !== 'v3') {
        fwrite(STDERR, "chaos: generation must be v1 or v3, got '$gen'\n");
        exit(2);
    }
    if (!extension_loaded('think_queue_native')) {
        fwrite(STDERR, "chaos: the think_queue_native extension is not loaded (php -d extension=...)\n");
        exit(2);
    }
    require root() . "/tests/php/$gen/thinkqueue/load.php";
    require root() . '/php/autoload.php';
    require root() . '/bench/php/StockRedisQueue.php';
    require __DIR__ . '/handler.php';
    require __DIR__ . "/$gen.php";
}

/** The connection keys of a think-queue Redis config (both generations use these names). */
function connection(): array
{
    return [
        'host'       => env('CHAOS_HOST', '127.0.0.1'),
        'port'       => (int) env('CHAOS_PORT'),
        'password'   => '',
        'select'     => 0,
        'timeout'    => 0,
        'persistent' => false,
    ];
}

function retryAfter(): int
{
    return (int) env('CHAOS_RETRY', '60');
}

function blockFor(): float
{
    return (float) env('CHAOS_BLOCK_FOR', '0');
}

function queueName(): string
{
    return env('CHAOS_QUEUE', 'chaos');
}

/** `$ms` milliseconds of "work" that a signal cannot cut short (sleep()/usleep() return early on one). */
function work(float $ms): void
{
    if ($ms <= 0) {
        return;
    }
    $end = microtime(true) + $ms / 1000;
    while (($left = $end - microtime(true)) > 0) {
        usleep(max(1, (int) ($left * 1e6)));
    }
}

/**
 * The recorder: its own phpredis connection to CHAOS_REC_DB. Records that must not be lost
 * (deliveries) are retried across a dropped connection (scenario 2 restarts Redis) for up to
 * 120 s; notes (reported errors) are buffered and flushed without ever blocking the worker.
 */
final class Rec
{
    /** @var \Redis|null */
    private static $r;
    /** @var string[][] buffered [key, value] notes */
    private static $buffer = [];

    private static function conn(): \Redis
    {
        if (self::$r === null) {
            $r = new \Redis();
            $r->connect(env('CHAOS_HOST', '127.0.0.1'), (int) env('CHAOS_PORT'), 1.0);
            $r->select((int) env('CHAOS_REC_DB', '1'));
            self::$r = $r;
        }

        return self::$r;
    }

    /** Runs $fn(redis), reconnecting and retrying while Redis is unreachable (at most $patience s). */
    public static function run(callable $fn, float $patience = 120.0)
    {
        $deadline = microtime(true) + $patience;
        while (true) {
            try {
                return $fn(self::conn());
            } catch (\RedisException $e) {
                self::$r = null;
                if (microtime(true) > $deadline) {
                    throw $e;
                }
                usleep(20000);
            }
        }
    }

    /**
     * Records one delivery, idempotently: HSETNX of the delivery's token, HINCRBY chaos:seen and
     * RPUSH chaos:log in one script, which does nothing but count itself in chaos:rec-retried when
     * the token is already there. A script (like a MULTI/EXEC) that Redis applied and wrote to its
     * AOF just before it was killed, whose reply never arrived, is sent again by run() on the new
     * connection: without the token that re-run recorded the one delivery twice (same pid, same
     * fire time), which the verdicts cannot tell from a real duplicate delivery.
     */
    private const RECORD = <<<'LUA'
if redis.call('HSETNX', KEYS[3], ARGV[1], '1') == 0 then
  redis.call('INCR', KEYS[4])
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
end
return 1
LUA;

    /** @var int self-check only: lose this many replies of applied recordings (chaos/ctl.php recorder-check) */
    public static $loseReplies = 0;

    /** A token of one delivery: pid, fire time in microseconds and a random part. */
    public static function token(float $fireTime): string
    {
        return sprintf('%d-%.0f-%s', getmypid(), $fireTime * 1e6, bin2hex(random_bytes(6)));
    }

    /**
     * One delivery of job $n: counted (and logged) once, however often the recording is retried.
     * The token is made here, once per delivery, before the first attempt.
     * Returns whether this call recorded it (false: a retry found it already recorded).
     */
    public static function seen(int $n, int $attempts, float $fireTime, string $kind, string $id = '-'): bool
    {
        self::flush();
        $token = self::token($fireTime);
        $line  = env('CHAOS_LOG', '1') === '1'
            ? sprintf('%d %d %d %.6f %s %s %s', $n, $attempts, getmypid(), $fireTime, $kind, $id, $token) : '';
        $applied = self::run(static function (\Redis $r) use ($n, $line, $token) {
            $res = $r->eval(self::RECORD, [SEEN, LOG, TOKENS, RETRIED, $token, (string) $n, $line], 4);
            if ($res === false) {
                // an error reply (e.g. -LOADING while the restarted server reads its AOF): phpredis
                // returns false instead of throwing; nothing was applied, so try again
                $err = $r->getLastError();
                $r->clearLastError();
                throw new \RedisException('recording refused: ' . ($err ?? 'unknown error'));
            }
            if (self::$loseReplies > 0) {
                self::$loseReplies--;
                throw new \RedisException('self-check: the reply of an applied recording was lost');
            }

            return $res;
        });
        if ((int) $applied !== 1) {
            fwrite(STDERR, date('H:i:s') . " recorder: delivery $token of n=$n was already recorded (a retry after a lost reply)\n");

            return false;
        }

        return true;
    }

    public static function latency(int $n, float $seconds): void
    {
        self::run(static function (\Redis $r) use ($n, $seconds) {
            $r->multi();
            $r->rPush(LAT, sprintf('%d %.6f', $n, $seconds));
            $r->rPush('chaos:latsig', (string) $n); // wakes the latency producer
            $r->exec();
        });
    }

    /** Buffers a note (never blocks: flushed now if Redis answers, else on a later call). */
    public static function note(string $key, string $value): void
    {
        self::$buffer[] = [$key, $value];
        self::flush();
    }

    public static function flush(): void
    {
        if (!self::$buffer) {
            return;
        }
        try {
            $r = self::conn();
            while (self::$buffer) {
                [$key, $value] = self::$buffer[0];
                $r->rPush($key, $value);
                array_shift(self::$buffer);
            }
        } catch (\RedisException $e) {
            self::$r = null;
        }
    }

    public static function error(\Throwable $e): void
    {
        $line = sprintf('%d %s: %s', getmypid(), get_class($e), str_replace("\n", ' ', $e->getMessage()));
        fwrite(STDERR, date('H:i:s') . " reported $line\n");
        self::note(ERRORS, $line);
    }

    public static function failed(string $name, string $raw): void
    {
        fwrite(STDERR, date('H:i:s') . " failed $name $raw\n");
        self::note(FAILED, sprintf('%d %s %s', getmypid(), $name, $raw));
    }
}

/**
 * What the handler does with a job, whoever fired it (native shim job or stock StockJob):
 * data `n` (job number), optional `ts` (push time: the latency is recorded first thing),
 * `w1`/`w2` (milliseconds of work before/after recording the delivery). Then $job->delete(),
 * as a plain think-queue handler does.
 */
function handle($job, $data, string $kind): void
{
    $t0 = microtime(true);
    $n  = (int) $data['n'];
    if (isset($data['ts'])) {
        Rec::latency($n, $t0 - (float) $data['ts']);
    }
    work((float) ($data['w1'] ?? 0));
    Rec::seen($n, (int) $job->attempts(), $t0, $kind, (string) ($job->getJobId() ?? '-'));
    work((float) ($data['w2'] ?? 0));
    if (!empty($data['done'])) {
        Rec::run(static function (\Redis $r) use ($n) {
            $r->rPush('chaos:done', (string) $n); // the work is over (recorded before the delete)
        });
    }
    $job->delete();
}

/** The stock worker's handler (the baseline hands StockJob objects). */
final class StockHandler
{
    public function fire(\tqn\bench\StockJob $job, $data): void
    {
        handle($job, $data, 'stock');
    }
}

/**
 * The stock worker: stock think-queue's Redis connector/job command sequences
 * (tqn\bench\StockRedisQueue on phpredis) driven by the loop of `queue:work`: pop; if a job:
 * fire it (exceptions reported, the job released unless deleted, as the stock worker does);
 * else sleep --sleep seconds.
 */
function stockWorker(string $gen, float $sleep): void
{
    $config = connection() + ($gen === 'v1'
        ? ['expire' => retryAfter(), 'default' => queueName()]
        : ['retry_after' => retryAfter(), 'queue' => queueName()]);
    $q = new \tqn\bench\StockRedisQueue($config, $gen);
    $handler = new StockHandler();
    fwrite(STDERR, date('H:i:s') . " stock worker $gen pid " . getmypid() . " on " . queueName() . "\n");
    while (true) {
        $job = null;
        try {
            $job = $q->pop(queueName());
            if ($job !== null) {
                $handler->fire($job, $job->getData());
            }
        } catch (\Throwable $e) {
            Rec::error($e);
            if ($job !== null && !$job->isDeleted()) {
                try {
                    $job->release(0);
                } catch (\Throwable $e2) {
                    Rec::error($e2);
                }
            }
            continue;
        }
        if ($job === null) {
            usleep((int) ($sleep * 1e6));
        }
        Rec::flush();
    }
}
