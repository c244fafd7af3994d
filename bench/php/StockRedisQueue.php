<?php
/*
 * Baseline: what stock think-queue's Redis connector and Redis job send to Redis, re-implemented
 * from the wire specification (docs/wire-spec.md §2-§6) on plain phpredis, so
 * that tests and benchmarks can run "stock" without ThinkPHP. Written for this project; no stock
 * code is included. Plain `require` (no autoloader); needs ext-redis.
 *
 * Which stock release each part mirrors (every public method issues the same phpredis calls, in
 * the same order, as the stock code path, so the round trips are the same):
 *
 *   generation 'v1'  = think-queue v1.1.6 (ThinkPHP 5.0); v2.0.4 (ThinkPHP 5.1) is identical on
 *                      the wire. Connector think\queue\connector\Redis + job think\queue\job\Redis.
 *   generation 'v3'  = think-queue v3.0.9 (ThinkPHP 6/8), the same wire as v3.0.5 - v3.0.9.
 *                      Connector created by Redis::__make($config) + job think\queue\job\Redis.
 *
 *   __construct  v1: option defaults merged with the config (expire 60, default 'default');
 *                v3: __make() (retry_after `?? 60`, block_for `?? null`, queue). Both: connect or
 *                pconnect(host, port, timeout), AUTH if password != '', SELECT if select != 0.
 *                (The v3.0.6+ "went away" reconnecting proxy is not reproduced: it adds no
 *                command on a healthy connection.)
 *   push         v1 + v3: one RPUSH of the payload (§4.1). Returns the id (v1 always; v3 only if
 *                RPUSH returned a truthy length, else null).
 *   pushRaw      v1: RPUSH then json_decode($payload, true)['id'] (a payload without "id" raises
 *                ErrorException after the RPUSH, as under ThinkPHP). v3: RPUSH, `id ?? null`.
 *   later        v1: ZADD <ready>:delayed now+delay, returns null. v3: ZADD, returns the id when
 *                ZADD added a member (else null); $delay may be int, DateTimeInterface, DateInterval.
 *   bulk         v3 only: one push (one RPUSH) per job, returns null.
 *   pop          v1 §4.2: WATCH/ZRANGEBYSCORE/[MULTI/ZREMRANGEBYSCORE/RPUSH all/EXEC]/UNWATCH for
 *                :delayed, the same for :reserved (members re-encoded with attempts+1) when expire
 *                is not null, LPOP, ZADD :reserved now+expire <popped bytes>.
 *                v3 §4.3: the same WATCH blocks with ZREMRANGEBYRANK and RPUSH chunks of 100
 *                (bytes unchanged) for :delayed and, when retry_after is not null, :reserved; then
 *                LPOP (or BLPOP R block_for), ZADD :reserved now+retry_after <reserved copy>,
 *                where the copy is json_encode(json_decode(raw, true) with attempts+1).
 *   size         v3: LLEN + ZCARD + ZCARD (three round trips). Also allowed for v1 (stock v1 has
 *                no size(); same commands, v1 keys).
 *   StockJob     delete(): ZREM :reserved (v1 the raw bytes, v3 the reserved copy).
 *                release($delay) v1: ZREM raw, then ZADD :delayed now+delay setMeta(raw,
 *                attempts()+1); v3: ZREM reserved copy, then ZADD :delayed now+delay that copy.
 *
 * PHP warnings that ThinkPHP's error handler would turn into exceptions (reading "id" or
 * "attempts" from a payload that has none) are raised here as \ErrorException at the same
 * point of the command sequence, so the loss windows of stock (e.g. v3 pop losing an
 * undecodable payload after LPOP) are reproduced, not fixed. Ids are 32 letters [A-Za-z], each
 * letter at most 5 times, like think-helper >= 3.1.3 Str::random(32).
 *
 * Extras that are not stock API (for tests and the benchmark): lastId(), generation(),
 * redis(), readyKey(), migrateDue() (pop()'s migration alone), StockJob::getReservedBody(), and
 * getJobId()/payload()/getData() on v1 jobs (stock v1 jobs only have getName()/attempts()/getRawBody()).
 */

namespace tqn\bench;

final class StockRedisQueue
{
    public const V1 = 'v1';
    public const V3 = 'v3';

    private const ID_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

    /** @var \Redis */
    private $redis;
    /** @var string */
    private $generation;
    /** @var array the effective configuration */
    private $config;
    /** @var string default queue name (v1 `default`, v3 `queue`) */
    private $defaultQueue;
    /** @var int|null reservation timeout (v1 `expire`, v3 `retry_after`) */
    private $retryAfter;
    /** @var int|null v3 `block_for` */
    private $blockFor;
    /** @var string|null id put in the most recent payload this object built */
    private $lastId;

    public function __construct(array $config, string $generation = self::V3)
    {
        if (!extension_loaded('redis')) {
            throw new \RuntimeException('the baseline needs ext-redis (phpredis)');
        }
        if ($generation !== self::V1 && $generation !== self::V3) {
            throw new \InvalidArgumentException("generation must be 'v1' or 'v3', got '$generation'");
        }
        $this->generation = $generation;

        if ($generation === self::V1) {
            // v1: class defaults, overridden key by key by whatever the config holds.
            $defaults = [
                'expire'     => 60,
                'default'    => 'default',
                'host'       => '127.0.0.1',
                'port'       => 6379,
                'password'   => '',
                'select'     => 0,
                'timeout'    => 0,
                'persistent' => false,
            ];
            $this->config       = $config ? array_merge($defaults, $config) : $defaults;
            $this->defaultQueue = $this->config['default'];
            $this->retryAfter   = $this->config['expire'];
            $this->blockFor     = null;
        } else {
            // v3: __make() reads these keys without defaults; stock's shipped config/queue.php
            // supplies them, so its values are the defaults here. `??` keeps stock's quirk that
            // retry_after => null means 60, not "no expiry".
            $this->config = $config + [
                'queue'      => 'default',
                'host'       => '127.0.0.1',
                'port'       => 6379,
                'password'   => '',
                'select'     => 0,
                'timeout'    => 0,
                'persistent' => false,
            ];
            $this->defaultQueue = $this->config['queue'];
            $this->retryAfter   = $this->config['retry_after'] ?? 60;
            $this->blockFor     = $this->config['block_for'] ?? null;
        }

        $this->redis = new \Redis();
        $connect     = $this->config['persistent'] ? 'pconnect' : 'connect';
        $this->redis->$connect($this->config['host'], $this->config['port'], $this->config['timeout']);
        // Loose comparisons on purpose: '' / null mean no AUTH, 0 / '0' / null / false no SELECT.
        if ('' != $this->config['password']) {
            $this->redis->auth($this->config['password']);
        }
        if (0 != $this->config['select']) {
            $this->redis->select($this->config['select']);
        }
    }

    public function generation(): string
    {
        return $this->generation;
    }

    /** The underlying phpredis client (the one every stock-mirroring call goes through). */
    public function redis(): \Redis
    {
        return $this->redis;
    }

    /** The id generated for the most recent payload built by push/later/bulk (null before any). */
    public function lastId(): ?string
    {
        return $this->lastId;
    }

    /** Ready-list key of a queue: v1 `queues:NAME`, v3 `{queues:NAME}`; falsy names = default. */
    public function readyKey($queue = null): string
    {
        $name = $queue ?: $this->defaultQueue;

        return $this->generation === self::V1 ? 'queues:' . $name : '{queues:' . $name . '}';
    }

    // ------------------------------------------------------------------------------- producing

    public function push($job, $data = '', $queue = null)
    {
        return $this->pushRaw($this->createPayload($job, $data), $queue);
    }

    public function pushRaw($payload, $queue = null)
    {
        if ($this->generation === self::V1) {
            $this->redis->rPush($this->readyKey($queue), $payload);

            // v1 reads the id back with a plain array access: a missing key is a warning.
            return self::thinkErrors(static function () use ($payload) {
                return json_decode($payload, true)['id'];
            });
        }
        if ($this->redis->rPush($this->readyKey($queue), $payload)) {
            return json_decode($payload, true)['id'] ?? null;
        }

        return null;
    }

    public function later($delay, $job, $data = '', $queue = null)
    {
        $payload = $this->createPayload($job, $data);
        if ($this->generation === self::V1) {
            $this->redis->zAdd($this->readyKey($queue) . ':delayed', time() + $delay, $payload);

            return null;
        }
        if ($this->redis->zAdd($this->readyKey($queue) . ':delayed', self::availableAt($delay), $payload)) {
            return json_decode($payload, true)['id'] ?? null;
        }

        return null;
    }

    /** v3 only: a plain loop of push() (one RPUSH each); returns null like stock. */
    public function bulk($jobs, $data = '', $queue = null)
    {
        if ($this->generation !== self::V3) {
            throw new \BadMethodCallException('bulk() exists in think-queue 3.x only');
        }
        foreach ((array) $jobs as $job) {
            $this->push($job, $data, $queue);
        }

        return null;
    }

    public function size($queue = null): int
    {
        $ready = $this->readyKey($queue);

        return $this->redis->lLen($ready) + $this->redis->zCard($ready . ':delayed')
            + $this->redis->zCard($ready . ':reserved');
    }

    // ------------------------------------------------------------------------------- consuming

    /** @return StockJob|null */
    public function pop($queue = null)
    {
        $ready = $this->readyKey($queue);

        $this->migrateDue($queue);

        if ($this->generation === self::V1) {
            $raw = $this->redis->lPop($ready);
            if ($raw === false) {
                return null;
            }
            $this->redis->zAdd($ready . ':reserved', time() + $this->retryAfter, $raw);

            // v1 remembers the resolved name; v1 raw bytes double as the reserved member.
            return new StockJob($this, $raw, $raw, $queue ?: $this->defaultQueue);
        }

        if ($this->blockFor !== null) {
            $reply = $this->redis->blPop($ready, $this->blockFor);
            if (empty($reply)) {
                return null;
            }
            $raw = $reply[1];
        } else {
            $raw = $this->redis->lPop($ready);
            if (!$raw) {
                return null; // note: like stock, a popped "0" or "" is dropped here
            }
        }
        // Between the LPOP above and the ZADD below a failure loses the job, as in stock.
        $reserved = self::thinkErrors(static function () use ($raw) {
            $copy = json_decode($raw, true);
            $copy['attempts']++;

            return json_encode($copy);
        });
        $this->redis->zAdd($ready . ':reserved', self::availableAt($this->retryAfter), $reserved);
        if (!$reserved) {
            return null;
        }

        // v3 keeps the queue argument as given (null stays null; keys resolve to the default).
        return new StockJob($this, $raw, $reserved, $queue);
    }

    /**
     * The migration part of pop() alone, for benchmarks: the WATCH/ZRANGEBYSCORE/[MULTI ...
     * EXEC]/UNWATCH block for :delayed and, when reservations expire, for :reserved, exactly as
     * pop() sends them, without the LPOP/ZADD that follow there. (Stock 1.x has this as the
     * public migrateExpiredJobs() per set; stock 3.x as a protected method.)
     */
    public function migrateDue($queue = null): void
    {
        $ready = $this->readyKey($queue);
        if ($this->generation === self::V1) {
            $this->migrateV1($ready . ':delayed', $ready, false);
            if ($this->retryAfter !== null) {
                $this->migrateV1($ready . ':reserved', $ready, true);
            }

            return;
        }
        $this->migrateV3($ready . ':delayed', $ready);
        if ($this->retryAfter !== null) {
            $this->migrateV3($ready . ':reserved', $ready);
        }
    }

    /** @internal used by StockJob::delete() */
    public function deleteReserved($queue, string $member): void
    {
        $this->redis->zRem($this->readyKey($queue) . ':reserved', $member);
    }

    /** @internal used by StockJob::release(): the part after the ZREM */
    public function releaseV1($queue, string $raw, $delay, $attempts): void
    {
        $payload = $this->setMeta($raw, 'attempts', $attempts);
        $this->redis->zAdd($this->readyKey($queue) . ':delayed', time() + $delay, $payload);
    }

    /** @internal used by StockJob::release() (v3: ZREM then ZADD of the reserved copy) */
    public function deleteAndReleaseV3($queue, string $reserved, $delay): void
    {
        $ready = $this->readyKey($queue);
        $this->redis->zRem($ready . ':reserved', $reserved);
        $this->redis->zAdd($ready . ':delayed', self::availableAt($delay), $reserved);
    }

    // ------------------------------------------------------------------------------- internals

    /** v1/v2 migration: everything due, removed by score, pushed back in one RPUSH. */
    private function migrateV1(string $from, string $to, bool $bumpAttempts): void
    {
        $this->redis->watch($from);
        $now  = time();
        $jobs = $this->redis->zRangeByScore($from, '-inf', $now);
        if (count($jobs) > 0) {
            $this->transaction(function () use ($from, $to, $now, $jobs, $bumpAttempts) {
                $this->redis->zRemRangeByScore($from, '-inf', $now);
                if ($bumpAttempts) {
                    foreach ($jobs as $i => $member) {
                        $attempts = self::thinkErrors(static function () use ($member) {
                            return json_decode($member, true)['attempts'];
                        });
                        $jobs[$i] = $this->setMeta($member, 'attempts', $attempts + 1);
                    }
                }
                $this->redis->rPush($to, ...$jobs);
            });
        }
        $this->redis->unwatch();
    }

    /** v3 migration: removed by rank (WATCH guards it), pushed back in RPUSHes of 100, unchanged. */
    private function migrateV3(string $from, string $to): void
    {
        $this->redis->watch($from);
        $jobs = $this->redis->zRangeByScore($from, '-inf', time());
        if (!empty($jobs)) {
            $this->transaction(function () use ($from, $to, $jobs) {
                $this->redis->zRemRangeByRank($from, 0, count($jobs) - 1);
                foreach (array_chunk($jobs, 100) as $chunk) {
                    $this->redis->rPush($to, ...$chunk);
                }
            });
        }
        $this->redis->unwatch();
    }

    /** MULTI, the queued work, EXEC; on an aborted EXEC or an exception, DISCARD (as stock). */
    private function transaction(\Closure $work): void
    {
        $this->redis->multi();
        try {
            $work();
            if (!$this->redis->exec()) {
                $this->redis->discard();
            }
        } catch (\Exception $e) {
            $this->redis->discard();
        }
    }

    /** The Redis payload of a new job, per generation (§3.2 / §3.3). */
    private function createPayload($job, $data)
    {
        $id = self::randomId();
        $this->lastId = $id;

        if ($this->generation === self::V1) {
            if (is_object($job)) {
                $body = ['job' => 'think\queue\CallQueuedHandler@call',
                         'data' => ['commandName' => get_class($job), 'command' => serialize(clone $job)]];
            } else {
                $body = ['job' => $job, 'data' => $data];
            }
            $payload = json_encode($body);
            if (json_last_error() !== JSON_ERROR_NONE) {
                throw new \InvalidArgumentException('Unable to create payload: ' . json_last_error_msg());
            }
            // Two decode/modify/encode passes, which is what normalises v1 payloads.
            return $this->setMeta($this->setMeta($payload, 'id', $id), 'attempts', 1);
        }

        if (is_object($job)) {
            $body = [
                'job'       => 'think\queue\CallQueuedHandler@call',
                'maxTries'  => $job->tries ?? null,
                'timeout'   => $job->timeout ?? null,
                'timeoutAt' => self::jobExpiration($job),
                'data'      => ['commandName' => get_class($job), 'command' => serialize(clone $job)],
            ];
        } else {
            $body = ['job' => $job, 'maxTries' => null, 'timeout' => null, 'data' => $data];
        }
        $body['id']       = $id;
        $body['attempts'] = 0;
        $payload = json_encode($body);
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new \InvalidArgumentException('Unable to create payload: ' . json_last_error_msg());
        }

        return $payload;
    }

    /** Decode (assoc), set one top-level key, encode; an encode error is an InvalidArgumentException. */
    private function setMeta(string $payload, string $key, $value): string
    {
        $decoded       = json_decode($payload, true);
        $decoded[$key] = $value; // an undecodable payload becomes [$key => $value], as in stock
        $encoded       = json_encode($decoded);
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new \InvalidArgumentException('Unable to create payload: ' . json_last_error_msg());
        }

        return $encoded;
    }

    /** v3 object jobs: timeoutAt from a `timeoutAt` property or a retryUntil() method, else null. */
    private static function jobExpiration($job)
    {
        if (!method_exists($job, 'retryUntil') && !isset($job->timeoutAt)) {
            return null;
        }
        $at = $job->timeoutAt ?? $job->retryUntil();

        return $at instanceof \DateTimeInterface ? $at->getTimestamp() : $at;
    }

    /** v3 score for a delay: absolute for DateTimeInterface, now + interval / seconds otherwise. */
    private static function availableAt($delay): int
    {
        if ($delay instanceof \DateInterval) {
            $delay = (new \DateTimeImmutable())->add($delay);
        }
        if ($delay instanceof \DateTimeInterface) {
            return $delay->getTimestamp();
        }

        return (int) floor(time() + $delay);
    }

    /** 32 letters from five shuffled copies of A-Za-z (think-helper >= 3.1.3 Str::random(32)). */
    private static function randomId(): string
    {
        return substr(str_shuffle(str_repeat(self::ID_LETTERS, 5)), 0, 32);
    }

    /**
     * Runs $fn with PHP warnings/notices turned into \ErrorException, as ThinkPHP's error handler
     * does for stock code (only for the reporting level in effect).
     *
     * @internal
     */
    public static function thinkErrors(\Closure $fn)
    {
        set_error_handler(static function (int $no, string $message, string $file = '', int $line = 0): bool {
            if (!(error_reporting() & $no)) {
                return false;
            }
            throw new \ErrorException($message, 0, $no, $file, $line);
        });
        try {
            return $fn();
        } finally {
            restore_error_handler();
        }
    }
}

/**
 * A reserved job as stock's think\queue\job\Redis sees it: the bytes popped from the ready list
 * (`getRawBody()`) and the member written to the reserved set (v1: the same bytes; v3: the copy
 * with attempts+1).
 */
final class StockJob
{
    /** @var StockRedisQueue */
    private $connector;
    /** @var string */
    private $raw;
    /** @var string */
    private $reserved;
    /** @var string|null */
    private $queue;
    /** @var mixed decoded raw payload (cached like stock v3: re-decoded while empty) */
    private $decoded;
    private $deleted  = false;
    private $released = false;

    /** @internal created by StockRedisQueue::pop() */
    public function __construct(StockRedisQueue $connector, string $raw, string $reserved, $queue)
    {
        $this->connector = $connector;
        $this->raw       = $raw;
        $this->reserved  = $reserved;
        $this->queue     = $queue;
    }

    public function getRawBody(): string
    {
        return $this->raw;
    }

    /** Exact member of the reserved ZSET (v1: the raw bytes; v3: the normalised attempts+1 copy). */
    public function getReservedBody(): string
    {
        return $this->reserved;
    }

    /** v1: queue name resolved at pop; v3: the pop() argument as given (may be null). */
    public function getQueue()
    {
        return $this->queue;
    }

    /** v1: the payload's attempts; v3: the payload's attempts + 1. */
    public function attempts()
    {
        if ($this->connector->generation() === StockRedisQueue::V1) {
            $raw = $this->raw;

            return StockRedisQueue::thinkErrors(static function () use ($raw) {
                return json_decode($raw, true)['attempts'];
            });
        }

        return $this->payload('attempts') + 1;
    }

    public function getJobId()
    {
        return $this->payload('id');
    }

    public function getName()
    {
        if ($this->connector->generation() === StockRedisQueue::V1) {
            $raw = $this->raw;

            return StockRedisQueue::thinkErrors(static function () use ($raw) {
                return json_decode($raw, true)['job'];
            });
        }

        return $this->payload('job');
    }

    /** What the handler receives as its second argument: payload "data". */
    public function getData()
    {
        return $this->payload('data');
    }

    /** v3 semantics: whole decoded payload, or one key (dot paths allowed) with a default. */
    public function payload($name = null, $default = null)
    {
        if (empty($this->decoded)) {
            $this->decoded = json_decode($this->raw, true);
        }
        if (empty($name)) {
            return $this->decoded;
        }
        $node = $this->decoded;
        if (is_array($node) && array_key_exists($name, $node)) {
            return $node[$name];
        }
        foreach (explode('.', (string) $name) as $segment) {
            if (!is_array($node) || !array_key_exists($segment, $node)) {
                return $default;
            }
            $node = $node[$segment];
        }

        return $node;
    }

    public function maxTries()
    {
        return $this->payload('maxTries');
    }

    public function timeout()
    {
        return $this->payload('timeout');
    }

    public function timeoutAt()
    {
        return $this->payload('timeoutAt');
    }

    /** ZREM of the reserved member. */
    public function delete(): void
    {
        $this->deleted = true;
        $this->connector->deleteReserved($this->queue, $this->reserved);
    }

    /**
     * v1: delete() (ZREM raw; isDeleted() becomes true too), then ZADD :delayed of the raw payload
     * re-encoded with attempts()+1. v3: ZREM the reserved copy, ZADD :delayed that same copy.
     */
    public function release($delay = 0): void
    {
        $this->released = true;
        if ($this->connector->generation() === StockRedisQueue::V1) {
            $this->delete();
            $this->connector->releaseV1($this->queue, $this->raw, $delay, $this->attempts() + 1);

            return;
        }
        $this->connector->deleteAndReleaseV3($this->queue, $this->reserved, $delay);
    }

    public function isDeleted(): bool
    {
        return $this->deleted;
    }

    public function isReleased(): bool
    {
        return $this->released;
    }

    public function isDeletedOrReleased(): bool
    {
        return $this->deleted || $this->released;
    }
}
