<?php
declare(strict_types=1);

namespace tqn\tests\v1;

use think\Cache;
use think\Config;
use think\exception\Handle;
use think\Hook;
use think\queue\native\connector\Redis as NativeConnector;
use think\queue\Worker;
use tqn\tests\support\RedisTestCase;

/** Base of the think-queue 1.x suite: fresh hooks/cache/reports per test, connector helpers. */
abstract class V1TestCase extends RedisTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        Hook::reset();
        Cache::reset();
        Handle::$reported = [];
    }

    /** The app's queue config (what the facade's connector was built from). */
    protected static function config(array $overrides = []): array
    {
        return $overrides + Config::get('queue');
    }

    /** A connector built the way think\Queue builds it: `new $class($wholeQueueConfig)`. */
    protected static function connector(array $overrides = []): NativeConnector
    {
        return new NativeConnector(self::config($overrides));
    }

    /** The stand-in worker; sleeps are zero in the tests. */
    protected static function work(?string $queue, int $tries = 0, int $delay = 0): array
    {
        return (new Worker())->pop($queue, $delay, 0, $tries);
    }

    /** Drops the connector think\Queue cached, so the next static call builds a new one. */
    protected static function resetFacade(): void
    {
        $property = new \ReflectionProperty(\think\Queue::class, 'connector');
        $property->setAccessible(true);
        $property->setValue(null, null);
    }
}
