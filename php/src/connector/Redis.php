<?php
/*
 * think-queue connector backed by the think_queue_native extension.
 *
 * One class for both think-queue generations:
 *
 *   think-queue 1.x/2.x (ThinkPHP 5.0/5.1), queue config:
 *       'connector' => 'think\queue\native\connector\Redis'
 *     think\Queue builds it with `new $class($wholeQueueConfig)` and forwards every static call to it.
 *
 *   think-queue 3.x (ThinkPHP 6/8), config/queue.php:
 *       'connections' => ['redis' => ['type' => 'think\queue\native\connector\Redis', ...]]
 *     the container calls the public static __make($config), then setApp()/setConnection() of the
 *     3.x base class.
 *
 * The generation is read from the installed base class (3.x has setConnection/pushOn, 1.x/2.x has
 * not). It decides which config keys mean what (as the stock connector of that generation reads
 * them) and the wire dialect, unless the config sets 'dialect' => 'v1' | 'v3' explicitly.
 *
 * Everything that matters (payload bytes, keys, atomic pop/release, errors) happens in
 * think\queue\native\RedisQueue; this class only adapts think-queue's arguments to it.
 * Exceptions of the think\queue\native\QueueException family propagate unchanged.
 */

namespace think\queue\native\connector;

use DateInterval;
use DateTimeImmutable;
use DateTimeInterface;
use think\queue\Connector;
use think\queue\native\job\Redis as RedisJob;
use think\queue\native\RedisQueue;

class Redis extends Connector
{
    /** @var RedisQueue */
    private $redisQueue;

    /** @var string 'v1' (think-queue 1.x/2.x API) or 'v3' (3.x API): the installed base class */
    private $generation;

    /** @var float `block_for`: seconds pop() waits for a job (0: return at once, as stock without it) */
    private $blockFor;

    /** @var bool `deferred_ack` (default true): a job's delete() rides with the next pop, see RedisJob::delete() */
    private $deferredAck;

    /** @var \WeakReference[] this process's connectors, by object id, for flushAll() */
    private static $live = [];

    /**
     * @param array $options think-queue 1.x/2.x: the whole `queue` config; 3.x: the connection's config
     */
    public function __construct($options = [])
    {
        $options          = (array) $options;
        $this->generation = self::installedGeneration();
        $this->options    = $options;
        $this->blockFor   = max(0.0, (float) ($options['block_for'] ?? 0));
        $this->deferredAck = (bool) ($options['deferred_ack'] ?? true);
        // which keys mean what (1.x/2.x: `expire`, `default`; 3.x: `retry_after ?? 60`, `queue`) is
        // decided by the extension's core from the generation, in one place for this shim, the
        // extension and `tqn --config`; keys only this class reads are ignored there
        $this->redisQueue = new RedisQueue($options, $this->generation);
        self::$live[spl_object_id($this)] = \WeakReference::create($this);
    }

    /**
     * Sends the acknowledgements (deferred_ack) that this connector holds back now, instead of
     * with its next command. Returns how many were sent. Not a think-queue API.
     */
    public function flush()
    {
        return $this->redisQueue->flush();
    }

    /**
     * flush() of every connector alive in this process: e.g. before pcntl_fork() or in a
     * shutdown function that must see the queue settled. Not a think-queue API.
     *
     * @return int how many acknowledgements were sent
     */
    public static function flushAll()
    {
        $sent = 0;
        foreach (self::$live as $id => $ref) {
            $connector = $ref->get();
            if ($connector === null) {
                unset(self::$live[$id]);
                continue;
            }
            $sent += $connector->flush();
        }

        return $sent;
    }

    /**
     * Which backend this process uses: 'extension' (think_queue_native loaded: the fast path) or
     * 'ffi' (libthink_queue_native_ffi.so through PHP's FFI, found from $ffiLib (the connection
     * config's `ffi_lib`), the environment variable THINK_QUEUE_NATIVE_FFI, or ffi/ next to php/).
     * With both, the extension wins (the FFI library is then never loaded). With neither, throws
     * one ConfigException that says what was wrong and what to do.
     *
     * @param string|null $ffiLib
     * @return string
     */
    public static function backend($ffiLib = null)
    {
        if (extension_loaded('think_queue_native')) {
            return 'extension';
        }
        \think\queue\native\ffi\Library::get($ffiLib);

        return 'ffi';
    }

    /**
     * think-queue 3.x builds drivers through a public static __make($config) when the class has
     * one; the stock Redis connector's own builds `new self`, so this one must exist here.
     *
     * @param array $config the connection's config
     * @return static
     */
    public static function __make($config)
    {
        return new static($config);
    }

    /**
     * Generation of the installed think-queue base class: 'v3' when it has the 3.x-only
     * connection API, else 'v1' (1.x and 2.x share one API and one wire format).
     */
    public static function installedGeneration()
    {
        return method_exists(Connector::class, 'setConnection') ? 'v3' : 'v1';
    }

    /** The native queue this connector delegates to (not a think-queue API). */
    public function getRedisQueue()
    {
        return $this->redisQueue;
    }

    /** The wire dialect in use: 'v1' or 'v3' (not a think-queue API). */
    public function getDialect()
    {
        return $this->redisQueue->dialect();
    }

    /** Jobs of the queue: ready + delayed + reserved, like stock 3.x (also offered under 1.x/2.x). */
    public function size($queue = null)
    {
        return $this->redisQueue->size(self::queueName($queue));
    }

    /**
     * @param string|object $job  handler name ('app\job\Foo', 'Foo', 'Foo@method') or a job object
     * @return string the job id
     */
    public function push($job, $data = '', $queue = null)
    {
        if (is_object($job)) {
            return $this->redisQueue->push(get_class($job), '', self::queueName($queue), $this->objectMeta($job));
        }

        return $this->redisQueue->push($job, $data, self::queueName($queue));
    }

    /**
     * Pushes a payload verbatim; returns its "id" or null (stock 1.x/2.x raised a warning on a
     * payload without id, after writing it).
     */
    public function pushRaw($payload, $queue = null, array $options = [])
    {
        return $this->redisQueue->pushRaw($payload, self::queueName($queue));
    }

    /**
     * @param int|DateTimeInterface|DateInterval $delay seconds, an absolute time, or an interval from now
     * @return string the job id (stock 1.x/2.x returned null)
     */
    public function later($delay, $job, $data = '', $queue = null)
    {
        if (is_object($job)) {
            $meta = $this->objectMeta($job);
            $job  = get_class($job);
        } else {
            $meta = [];
        }
        if ($delay instanceof DateInterval) {
            $delay = (new DateTimeImmutable())->add($delay);
        }
        if ($delay instanceof DateTimeInterface) {
            return $this->redisQueue->laterAt($delay->getTimestamp(), $job, $data, self::queueName($queue), $meta);
        }

        return $this->redisQueue->later((int) $delay, $job, $data, self::queueName($queue), $meta);
    }

    /**
     * think-queue 3.x bulk(): every job with the same data, written in one native call (all
     * payloads are built first: one bad job throws and nothing is written). Returns null like stock.
     */
    public function bulk($jobs, $data = '', $queue = null)
    {
        $batch = [];
        foreach ((array) $jobs as $job) {
            $batch[] = is_object($job)
                ? [get_class($job), '', $this->objectMeta($job)]
                : [$job, $data];
        }
        if ($batch) {
            $this->redisQueue->bulk($batch, $data, self::queueName($queue));
        }

        return null;
    }

    /**
     * Reserves the next job of the queue (due delayed jobs and expired reservations are moved back
     * first, in the same atomic step). Null when the queue is empty.
     *
     * @return RedisJob|null
     */
    public function pop($queue = null)
    {
        if ($this->watchStopSignal()) {
            return $this->popUntilStopRequested($queue);
        }
        // block_for: wait for a job like stock 3.x's BLPOP, but without its BLPOP-then-ZADD window
        // (the extension waits without taking anything, then pops and reserves atomically)
        return $this->job($this->redisQueue->pop(self::queueName($queue), $this->blockFor), $queue);
    }

    /** @var bool set when this process received SIGTERM (seen through our handler) */
    private static $stopRequested = false;

    /** @var \Closure|null our SIGTERM handler, when installed */
    private static $stopHandler = null;

    /**
     * Graceful stop. A native pop waiting for `block_for` does not return to PHP between its 1 s
     * slices, so PHP signal handlers would only run when it returns. In a CLI worker with pcntl
     * (unless the config says `'graceful_stop' => false`), pop() therefore waits in 1 s calls and
     * watches SIGTERM through a handler of ours:
     *  - 1.x/2.x workers have no signal handling: ours only sets a flag; the running job finishes
     *    and the next pop exits (status 0) before reserving anything;
     *  - 3.x workers install their own (`shouldQuit`): ours wraps it (calls it, then sets the flag),
     *    and a pop that sees the flag returns null at once, so the worker reaches its quit check
     *    (after its `--sleep`, as stock) instead of waiting out `block_for`.
     * Without `block_for` and under 3.x nothing needs watching: pop returns at once anyway.
     */
    private function watchStopSignal()
    {
        if (!($this->options['graceful_stop'] ?? true) || PHP_SAPI !== 'cli' || !function_exists('pcntl_signal')) {
            return false;
        }
        if ($this->generation === 'v3' && $this->blockFor <= 0) {
            return false;
        }
        $current = pcntl_signal_get_handler(SIGTERM);
        if (self::$stopHandler === null || $current !== self::$stopHandler) {
            // 3.x: wrap the handler the worker installed (stock's `shouldQuit`); 1.x/2.x workers have
            // none of their own, so ours replaces whatever the process had
            $previous = ($this->generation === 'v3' && $current !== self::$stopHandler) ? $current : null;
            self::$stopHandler = static function ($signo, $info = null) use ($previous) {
                self::$stopRequested = true;
                if (is_callable($previous)) {
                    $previous($signo, $info);
                } elseif ($previous === SIG_DFL) {
                    // a 3.x worker without handlers of its own (e.g. --once): die as it would have
                    pcntl_signal(SIGTERM, SIG_DFL);
                    function_exists('posix_kill') ? posix_kill(getmypid(), SIGTERM) : exit(128 + SIGTERM);
                }
            };
            pcntl_async_signals(true);
            pcntl_signal(SIGTERM, self::$stopHandler);
        }

        return true;
    }

    /** pop() in 1 s calls, stopping between them once SIGTERM arrived (see watchStopSignal()). */
    private function popUntilStopRequested($queue)
    {
        $deadline = microtime(true) + $this->blockFor;
        do {
            if (self::$stopRequested) {
                return $this->stopRequestedPop();
            }
            $slice = min(1.0, max(0.0, $deadline - microtime(true)));
            $reserved = $this->redisQueue->pop(self::queueName($queue), $slice);
            if ($reserved !== null) {
                return $this->job($reserved, $queue); // taken: it will run, even if SIGTERM came meanwhile
            }
        } while (microtime(true) < $deadline);

        return self::$stopRequested ? $this->stopRequestedPop() : null;
    }

    /** 1.x/2.x: exit now (nothing reserved); 3.x: no job, the worker's own quit check follows. */
    private function stopRequestedPop()
    {
        if ($this->generation === 'v1') {
            $this->redisQueue->close(); // sends acknowledgements held back (deferred_ack)
            exit(0);
        }

        return null;
    }

    /** The think-queue job for a popped native job (null stays null). */
    private function job($reserved, $queue)
    {
        if ($reserved === null) {
            return null;
        }
        if ($this->generation === 'v3') {
            // 3.x jobs keep the pop() argument as given, plus the app and the connection name.
            $job = new RedisJob($this->redisQueue, $reserved, $queue, $this->app, $this->connection);
        } else {
            // 1.x/2.x jobs carry the resolved queue name.
            $job = new RedisJob($this->redisQueue, $reserved, $reserved->getQueue());
        }

        return $job->setDeferredAck($this->deferredAck);
    }

    /**
     * A queue argument as RedisQueue takes it: think-queue treats any falsy name as the default
     * queue (`$queue ?: default`), other scalars as their string form (the extension's ?string
     * parameters do not coerce).
     */
    private static function queueName($queue)
    {
        return $queue ? (string) $queue : null;
    }

    /**
     * An object job for the extension: the serialize()d object under `object` (the core writes
     * think-queue's object job around it: handler and data fields are not spelled here), plus the
     * 3.x payload fields tries, timeout and the expiration (timeoutAt / retryUntil()).
     */
    private function objectMeta($job)
    {
        $meta = ['object' => serialize(clone $job)];
        if ($this->redisQueue->dialect() !== 'v3') {
            return $meta;
        }
        $timeoutAt = null;
        if (method_exists($job, 'retryUntil') || isset($job->timeoutAt)) {
            $timeoutAt = $job->timeoutAt ?? $job->retryUntil();
            if ($timeoutAt instanceof DateTimeInterface) {
                $timeoutAt = $timeoutAt->getTimestamp();
            }
        }

        return $meta + [
            'maxTries'  => $job->tries ?? null,
            'timeout'   => $job->timeout ?? null,
            'timeoutAt' => $timeoutAt,
        ];
    }
}
