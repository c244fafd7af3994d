<?php
/*
 * Connection options and errors of the native connector under think-queue 1.x/2.x (cases in
 * tests/php/support/ConnectionCases.php), plus how the 1.x config keys are read.
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use think\queue\native\connector\Redis as NativeConnector;
use tqn\tests\support\ConnectionCases;

final class V1ConnectionTest extends V1TestCase
{
    use ConnectionCases;

    protected static function makeConnector(array $overrides = []): object
    {
        return self::connector($overrides);
    }

    protected static function generation(): string
    {
        return 'v1';
    }

    public function testGenerationIsDetectedFromTheInstalledBaseClass(): void
    {
        $this->assertSame('v1', NativeConnector::installedGeneration());
        $queue = self::connector();
        $this->assertInstanceOf(\think\queue\Connector::class, $queue);
        $this->assertSame('v1', $queue->getDialect());
    }

    public function testOneXConfigKeysAreTheOnesRead(): void
    {
        // 1.x reads `default` and `expire`; the 3.x names `queue`/`retry_after` mean nothing to it.
        $queue = self::connector(['default' => 'mine', 'queue' => 'not-this', 'expire' => 30, 'retry_after' => 999]);
        $queue->push('Hello', 'x');
        $this->assertSame(['queues:mine'], self::keys());
        $job = $queue->pop();
        $this->assertSame('mine', $job->getQueue());
        $reserved = self::zset('queues:mine:reserved');
        $this->assertEqualsWithDelta(time() + 30, reset($reserved), 2);
    }

    public function testSelectAndTimeoutOptions(): void
    {
        $queue = self::connector(['select' => '3', 'timeout' => 1.5, 'port' => (string) TQN_REDIS_PORT]);
        $queue->push('Hello', 'db3', 'sel');
        $this->assertSame([], self::keys(0));
        $this->assertSame(['queues:sel'], self::keys(3));
    }
}
