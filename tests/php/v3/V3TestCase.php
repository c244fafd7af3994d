<?php
declare(strict_types=1);

namespace tqn\tests\v3;

use think\App;
use think\Config;
use think\Event;
use think\exception\Handle;
use think\queue\event\JobProcessing;
use think\queue\FailedJob;
use think\queue\native\connector\Redis as NativeConnector;
use think\queue\Service;
use think\queue\Worker;
use tqn\tests\support\RedisTestCase;

/** A failed-job store that keeps the log() calls in memory (config queue.failed.type = this class). */
final class MemoryFailer extends FailedJob
{
    /** @var array<int, array{connection: mixed, queue: mixed, payload: string, exception: \Throwable}> */
    public static array $logged = [];

    public function __construct($config = [])
    {
    }

    public function log($connection, $queue, $payload, $exception)
    {
        self::$logged[] = compact('connection', 'queue', 'payload', 'exception');

        return count(self::$logged);
    }

    public function all()
    {
        return self::$logged;
    }

    public function find($id)
    {
        return self::$logged[$id - 1] ?? null;
    }

    public function forget($id)
    {
        unset(self::$logged[$id - 1]);

        return true;
    }

    public function flush()
    {
        self::$logged = [];
    }
}

/** A worker whose idle sleep runs `php think queue:restart`, so a daemon ends once the queues are empty. */
final class StopWhenIdleWorker extends Worker
{
    public function sleep($seconds)
    {
        $this->cache->set('think:queue:restart', microtime(true));
    }
}

/** Base of the think-queue 3.x suite: a fresh ThinkPHP-like app per test. */
abstract class V3TestCase extends RedisTestCase
{
    protected App $app;

    /** config/queue.php as shipped by think-queue 3.x, with the native type on the redis connection */
    protected static function queueConfig(): array
    {
        return [
            'default'     => 'redis',
            'connections' => [
                'sync'  => ['type' => 'sync'],
                'redis' => [
                    'type'       => 'think\queue\native\connector\Redis',
                    'queue'      => 'default',
                    'host'       => '127.0.0.1',
                    'port'       => TQN_REDIS_PORT,
                    'password'   => '',
                    'select'     => 0,
                    'timeout'    => 0,
                    'persistent' => false,
                ],
            ],
            'failed'      => ['type' => MemoryFailer::class, 'table' => 'failed_jobs'],
        ];
    }

    protected function setUp(): void
    {
        parent::setUp();
        MemoryFailer::$logged = [];
        $this->app = new App();
        $this->app->instance('config', (new Config())->set(static::queueConfig(), 'queue'));
        $this->app->bind('event', Event::class);
        $this->app->bind('cache', \think\Cache::class);
        (new Service($this->app))->register();
    }

    /** The connection config the app has for `redis`, plus $overrides. */
    protected static function connectionConfig(array $overrides = []): array
    {
        return $overrides + static::queueConfig()['connections']['redis'];
    }

    protected function connection(?string $name = null): NativeConnector
    {
        return $this->app->make('queue')->connection($name);
    }

    protected function events(): Event
    {
        return $this->app->make(Event::class);
    }

    protected function handle(): Handle
    {
        return $this->app->make(Handle::class);
    }

    /** @return string[] short class names of the events triggered so far */
    protected function eventNames(): array
    {
        return array_map(static fn ($e) => substr(strrchr(get_class($e), '\\'), 1), $this->events()->triggered);
    }

    /**
     * `queue:work --once` on the redis connection (stand-in Worker::runNextJob, sleep 0).
     * Returns the job it processed (from its JobProcessing event), or null.
     */
    protected function work(string $queue = 'default', int $tries = 0, int $delay = 0, string $connection = 'redis'): ?\think\queue\Job
    {
        $before = count($this->events()->triggered);
        $this->app->make(Worker::class)->runNextJob($connection, $queue, $delay, 0, $tries);
        foreach (array_slice($this->events()->triggered, $before) as $event) {
            if ($event instanceof JobProcessing) {
                return $event->job;
            }
        }

        return null;
    }
}
