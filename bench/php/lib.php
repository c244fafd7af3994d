<?php
/*
 * Shared by bench/php/demo.php (`make demo`) and bench/php/bench.php (`make bench`): loading one
 * think-queue generation (the stand-ins of tests/php/<gen>/thinkqueue, the shims of php/src, the
 * stock-algorithm baseline), a think-queue app configured as a ThinkPHP app is (ThinkQueueApp),
 * and small helpers. Plain `require`; no output.
 */

declare(strict_types=1);

namespace tqn\bench;

/** The shim connector: the one word a user changes in the queue config. */
const SHIM_CONNECTOR = 'think\queue\native\connector\Redis';

/** The stock connector stand-in for the same config slot (StockConnector.php): stock's command sequences. */
const STOCK_CONNECTOR = 'tqn\bench\StockConnector';

/**
 * Loads think-queue of generation $gen ('v1' = 1.x/2.x, 'v3' = 3.x: one per process, their classes
 * have the same names), the shims (php/autoload.php), the baseline (StockRedisQueue.php) and the
 * adapters that let the stand-in facade and worker drive it (StockConnector.php); for v3 also the
 * harness pieces of thinkqueue-v3.php.
 */
function boot(string $gen): void
{
    if ($gen !== 'v1' && $gen !== 'v3') {
        throw new \InvalidArgumentException("generation must be v1 or v3, got '$gen'");
    }
    $root = dirname(__DIR__, 2);
    require_once $root . "/tests/php/$gen/thinkqueue/load.php"; // think-queue classes of this generation
    require_once $root . '/php/autoload.php';                    // the shims: think\queue\native\connector\Redis, job\Redis
    require_once __DIR__ . '/StockRedisQueue.php';               // the baseline
    require_once __DIR__ . '/StockConnector.php';                // the baseline as a think-queue connector + job
    if ($gen === 'v3') {
        require_once __DIR__ . '/thinkqueue-v3.php';             // QuietEvent, IdleStopWorker
    }
}

/** True when the think_queue_native extension (and its classes) are loaded. */
function nativeLoaded(): bool
{
    return extension_loaded('think_queue_native') && class_exists('think\queue\native\RedisQueue', false);
}

/**
 * think-queue of generation $gen, configured as a ThinkPHP app is, through the stand-ins:
 *   v1: Config 'queue' => ['connector' => <class>, 'expire' => 60, 'default' => 'default', host, port, ...]
 *   v3: config/queue.php with connections.redis.type = <class>
 * <class> is the shim connector (native) or StockConnector (the stock algorithm), so both sides run
 * the same facade and the same worker. push() goes through the facade; drain() runs the worker
 * until the queue is empty.
 */
final class ThinkQueueApp
{
    /** @var string */
    private $gen;
    /** @var array the queue config (v1: Config 'queue'; v3: config/queue.php) */
    public $config;
    /** @var \think\App|null v3: the app of the current round */
    private $app;

    /**
     * @param string $connector SHIM_CONNECTOR or STOCK_CONNECTOR
     * @param array  $extra     more keys for the connection config (e.g. block_for)
     */
    public function __construct(string $gen, string $host, int $port, string $connector = SHIM_CONNECTOR, array $extra = [])
    {
        $this->gen = $gen;
        $connection = $extra + [
            'host'       => $host,
            'port'       => $port,
            'password'   => '',
            'select'     => 0,
            'timeout'    => 0,
            'persistent' => false,
        ];
        if ($gen === 'v1') {
            // ThinkPHP 5.0 application/extra/queue.php / 5.1 config/queue.php
            $this->config = ['connector' => $connector, 'expire' => 60, 'default' => 'default'] + $connection;
            \think\Config::set('queue', $this->config);
        } else {
            // ThinkPHP 6/8 config/queue.php as think-queue 3.x ships it, with the one changed word
            $this->config = [
                'default'     => 'redis',
                'connections' => [
                    'sync'  => ['type' => 'sync'],
                    'redis' => ['type' => $connector, 'queue' => 'default'] + $connection,
                ],
                'failed'      => ['type' => 'none', 'table' => 'failed_jobs'],
            ];
        }
        $this->fresh();
    }

    /** The config StockRedisQueue gets: what the stock connector of this generation is built from. */
    public function connectorConfig(): array
    {
        return $this->gen === 'v1' ? $this->config : $this->config['connections']['redis'];
    }

    /** The config lines a user changes, for the output. */
    public function configLine(): string
    {
        return $this->gen === 'v1'
            ? "queue config: 'connector' => 'think\\queue\\native\\connector\\Redis' (was 'Redis'), expire 60, default 'default'"
            : "config/queue.php: 'connections' => ['redis' => ['type' => 'think\\queue\\native\\connector\\Redis' (was 'redis'), 'queue' => 'default', ...]]";
    }

    /**
     * Before a round (not measured): v1 clears the hook log and the restart key (the facade
     * keeps its connector for the process, as in ThinkPHP 5) and registers a listener that drops
     * the stand-in Hook's record of every call (a test aid that real ThinkPHP does not have, and
     * that would grow in a long-running worker); v3 boots a new app (container, config, events,
     * cache, think-queue's service) and opens its redis connection.
     */
    public function fresh(): void
    {
        if ($this->gen === 'v1') {
            \think\Hook::reset();
            \think\Cache::reset();
            \think\exception\Handle::$reported = [];
            $forget = static function () {
                \think\Hook::$fired = [];
            };
            \think\Hook::add('worker_before_process', $forget);
            \think\Hook::add('worker_before_sleep', $forget);

            return;
        }
        $app = new \think\App();
        $app->instance('config', (new \think\Config())->set($this->config, 'queue'));
        $app->bind('event', QuietEvent::class);
        $app->bind(\think\Event::class, QuietEvent::class);
        $app->bind('cache', \think\Cache::class);
        (new \think\queue\Service($app))->register();
        $app->bind(\think\queue\Worker::class, IdleStopWorker::class);
        $app->make(\think\Queue::class)->connection('redis'); // connect now, not inside the timing
        $this->app = $app;
    }

    /** The v3 app of the current round (null under v1). */
    public function app()
    {
        return $this->app;
    }

    /**
     * The connector object: v1 the one the facade built (forwarded calls reach it), v3 the
     * connection 'redis' of the manager. Use only for calls that are not think-queue API.
     */
    public function call(string $method, ...$args)
    {
        if ($this->gen === 'v1') {
            return \think\Queue::__callStatic($method, $args);
        }

        return $this->app->make(\think\Queue::class)->connection('redis')->$method(...$args);
    }

    /** @return mixed what the facade's push returns (the job id) */
    public function push(string $job, $data, string $queue)
    {
        return $this->gen === 'v1'
            ? \think\Queue::push($job, $data, $queue)
            : \think\facade\Queue::push($job, $data, $queue);
    }

    /** @return mixed what the facade's later returns */
    public function later(int $delay, string $job, $data, string $queue)
    {
        return $this->gen === 'v1'
            ? \think\Queue::later($delay, $job, $data, $queue)
            : \think\facade\Queue::later($delay, $job, $data, $queue);
    }

    /** The facade's bulk (3.x API; the shim also offers it under 1.x, stock 1.x has none). */
    public function bulk(array $jobs, $data, string $queue)
    {
        return $this->gen === 'v1'
            ? \think\Queue::bulk($jobs, $data, $queue)
            : \think\facade\Queue::bulk($jobs, $data, $queue);
    }

    /** The connector's pop, as the worker calls it (v1 through the static facade). */
    public function pop(string $queue)
    {
        return $this->call('pop', $queue);
    }

    /** Runs the worker on $queue until it finds it empty. */
    public function drain(string $queue): void
    {
        if ($this->gen === 'v1') {
            // the loop of `php think queue:work --queue NAME --daemon --sleep 0`
            $worker = new \think\queue\Worker();
            while ($worker->pop($queue, 0, 0, 0)['job'] !== null) {
            }

            return;
        }
        // `php think queue:work redis --queue NAME --sleep 0`: Worker::daemon until idle
        $worker = $this->app->make(\think\queue\Worker::class);
        try {
            $worker->daemon('redis', $queue, 0, 0, 0, 128, 60);
        } catch (\think\queue\command\WorkerStopped $e) {
            if ($e->getCode() !== 0) {
                throw new \RuntimeException("the worker stopped with status {$e->getCode()}");
            }
        }
    }

    /**
     * An idle daemon worker with stock's defaults (`--sleep $sleep`), until $stop() says so
     * (checked after each job and each sleep): v1 the `queue:work --daemon` loop of Worker::pop,
     * v3 Worker::daemon (the real one, whose idle sleep sleeps), stopped through queue:restart.
     */
    public function work(string $queue, int $sleep, \Closure $stop): void
    {
        if ($this->gen === 'v1') {
            $worker = new \think\queue\Worker();
            while (!$stop()) {
                $worker->pop($queue, 0, $sleep, 0);
            }

            return;
        }
        $app    = $this->app;
        $worker = $app->invokeClass(StopWhenWorker::class);
        $worker->stopWhen = static function () use ($stop, $app) {
            if ($stop()) {
                $app->make('cache')->set('think:queue:restart', microtime(true));
            }
        };
        try {
            $worker->daemon('redis', $queue, 0, $sleep, 0, 1024, 0);
        } catch (\think\queue\command\WorkerStopped $e) {
            if ($e->getCode() !== 0) {
                throw new \RuntimeException("the worker stopped with status {$e->getCode()}");
            }
        }
    }

    /** One job of `php think queue:work --once` (v1: without --daemon). */
    public function workOnce(string $queue): void
    {
        if ($this->gen === 'v1') {
            (new \think\queue\Worker())->pop($queue, 0, 0, 0);
        } else {
            $this->app->make(\think\queue\Worker::class)->runNextJob('redis', $queue, 0, 0, 0);
        }
    }

    /** Exceptions the worker caught and reported (v3 reports handler errors; v1 rethrows them). */
    public function reported(): array
    {
        return $this->gen === 'v1'
            ? \think\exception\Handle::$reported
            : $this->app->make(\think\exception\Handle::class)->reported;
    }
}

// ------------------------------------------------------------------------------------ helpers

function median(array $xs): float
{
    sort($xs);
    $n = count($xs);

    return $n % 2 ? (float) $xs[intdiv($n, 2)] : ($xs[$n / 2 - 1] + $xs[$n / 2]) / 2;
}

function rate(int $jobs, float $seconds): float
{
    return $seconds > 0 ? $jobs / $seconds : INF;
}

function readyKey(string $gen, string $queue): string
{
    return $gen === 'v1' ? "queues:$queue" : "{queues:$queue}";
}

/** LLEN + ZCARD + ZCARD of a queue under a generation's keys (checked with our own client). */
function leftover(\Redis $admin, string $gen, string $queue): int
{
    $ready = readyKey($gen, $queue);

    return $admin->lLen($ready) + $admin->zCard("$ready:delayed") + $admin->zCard("$ready:reserved");
}

/** Deletes a queue's keys (ready, delayed, reserved, dead-letter). */
function clearQueue(\Redis $admin, string $gen, string $queue): void
{
    $ready = readyKey($gen, $queue);
    $admin->del($ready, "$ready:delayed", "$ready:reserved", "$ready:dead");
}

/** The data of the i-th job: a small map, the same for every side. */
function jobData(int $i): array
{
    return ['mobile' => '13800000000', 'n' => $i];
}

/** VmRSS of this process in KiB (0 when /proc is not there). */
function rssKb(): int
{
    $status = @file_get_contents('/proc/self/status');
    if ($status !== false && preg_match('/^VmRSS:\s+(\d+)\s+kB/m', $status, $m)) {
        return (int) $m[1];
    }

    return 0;
}
