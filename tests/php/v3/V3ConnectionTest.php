<?php
/*
 * Connection options and errors of the native connector under think-queue 3.x (cases in
 * tests/php/support/ConnectionCases.php), built the way the 3.x container builds drivers.
 */

declare(strict_types=1);

namespace tqn\tests\v3;

use think\queue\native\connector\Redis as NativeConnector;
use tqn\tests\support\ConnectionCases;

final class V3ConnectionTest extends V3TestCase
{
    use ConnectionCases;

    protected static function makeConnector(array $overrides = []): object
    {
        return NativeConnector::__make(self::connectionConfig($overrides));
    }

    protected static function generation(): string
    {
        return 'v3';
    }

    public function testContainerBuildsOurClassThroughMake(): void
    {
        $made = $this->app->invokeClass(NativeConnector::class, [self::connectionConfig(['queue' => 'made'])]);
        $this->assertInstanceOf(NativeConnector::class, $made);
        $this->assertSame($made, $made->setApp($this->app)->setConnection('x'));
        $this->assertSame('x', $made->getConnection());
        $made->push('Hello', 'x');
        $this->assertSame(['{queues:made}'], self::keys());
    }

    public function testConnectionErrorsSurfaceThroughTheManager(): void
    {
        $config = static::queueConfig();
        $config['connections']['down'] = ['port' => \tqn\tests\support\PrivateRedis::freePort()] + $config['connections']['redis'];
        $this->app->make('config')->set($config, 'queue');

        $this->expectException(\think\queue\native\ConnectionException::class);
        $this->connection('down');
    }
}
