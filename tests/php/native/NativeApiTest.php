<?php
/*
 * The extension's PHP API as docs/php-api.md describes it, called directly (what the shims build
 * on): options, payload fields, pop/ReservedJob, delete/release return values, sizes/migrate,
 * errors.
 */

declare(strict_types=1);

namespace tqn\tests\native;

use think\queue\native\AuthException;
use think\queue\native\ConfigException;
use think\queue\native\ConnectionException;
use think\queue\native\MalformedPayloadException;
use think\queue\native\PayloadException;
use think\queue\native\QueueException;
use think\queue\native\RedisQueue;
use think\queue\native\ReservedJob;
use tqn\tests\support\RedisTestCase;

final class NativeApiTest extends RedisTestCase
{
    private static function queue(array $options = [], ?string $generation = null): RedisQueue
    {
        return new RedisQueue($options + ['port' => TQN_REDIS_PORT], $generation);
    }

    public function testModuleAndClasses(): void
    {
        $file = (new \ReflectionClass(RedisQueue::class))->getFileName();
        if (TQN_BACKEND === 'ffi') {
            $this->assertFalse(extension_loaded('think_queue_native'));
            $this->assertSame(TQN_ROOT . '/php/src/RedisQueue.php', $file, 'the FFI backend class');
        } else {
            $this->assertTrue(extension_loaded('think_queue_native'));
            $this->assertFalse($file, 'the extension\'s (internal) class');
            $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', \think\queue\native\version());
        }
        $this->assertTrue((new \ReflectionClass(RedisQueue::class))->isFinal());
        $this->assertTrue((new \ReflectionClass(ReservedJob::class))->isFinal());
        foreach ([ConnectionException::class, PayloadException::class, MalformedPayloadException::class, ConfigException::class] as $class) {
            $this->assertTrue(is_subclass_of($class, QueueException::class), $class);
        }
        $this->assertTrue(is_subclass_of(AuthException::class, ConnectionException::class));
        $this->assertTrue(is_subclass_of(QueueException::class, \RuntimeException::class));
        $e = new PayloadException('made in PHP');
        $this->assertSame(__LINE__ - 1, $e->getLine(), 'exceptions carry file and line');
    }

    public function testReservedJobIsNotConstructibleFromPhp(): void
    {
        try {
            new ReservedJob();
            $this->fail('ReservedJob was constructed from PHP');
        } catch (\Throwable $e) {
            // the FFI backend's class needs the library's job handle
            $this->assertStringContainsString(TQN_BACKEND === 'ffi' ? 'Too few arguments' : 'cannot instantiate', $e->getMessage());
        }
    }

    public function testOptionDefaultsAndNames(): void
    {
        $q = self::queue();
        $this->assertSame('v3', $q->dialect());
        $this->assertSame('default', $q->getDefaultQueue());
        $this->assertTrue($q->ping());
        $this->assertSame(['ready' => '{queues:default}', 'delayed' => '{queues:default}:delayed', 'reserved' => '{queues:default}:reserved', 'dead' => '{queues:default}:dead'], $q->keys());

        $this->assertSame('v1', self::queue(['dialect' => 'v2'])->dialect());
        $this->assertSame('v1', self::queue(['dialect' => '1'])->dialect());
        // without a generation, a v1 config is read with 1.x keys (`default`, `expire`)
        $v1 = self::queue(['dialect' => 'v1', 'default' => 'old', 'queue' => 'new', 'expire' => null]);
        $this->assertSame('old', $v1->getDefaultQueue(), '1.x reads `default`; `queue` is a 3.x key');
        $this->assertNull($v1->options()['retry_after'], '1.x: `expire => null` disables expiry');
        $this->assertSame(['ready' => 'queues:x', 'delayed' => 'queues:x:delayed', 'reserved' => 'queues:x:reserved', 'dead' => 'queues:x:dead'], $v1->keys('x'));
        $this->assertSame('queues:old', $v1->keys('0')['ready'], "falsy names: '0'");
        $this->assertSame('queues:old', $v1->keys('')['ready'], "falsy names: ''");
    }

    public function testGenerationDecidesWhichKeysAreRead(): void
    {
        $config = ['default' => 'old', 'queue' => 'new', 'expire' => 5, 'retry_after' => null];
        $v3 = self::queue($config, 'v3');
        $this->assertSame(['v3', 'new', 60], [$v3->dialect(), $v3->getDefaultQueue(), $v3->options()['retry_after']], '3.x: `queue`, `retry_after ?? 60`');
        $v1 = self::queue($config, 'v1');
        $this->assertSame(['v1', 'old', 5], [$v1->dialect(), $v1->getDefaultQueue(), $v1->options()['retry_after']], '1.x: `default`, `expire`');
        $mixed = self::queue(['dialect' => 'v1'] + $config, 'v3');
        $this->assertSame(['v1', 'new', 60], [$mixed->dialect(), $mixed->getDefaultQueue(), $mixed->options()['retry_after']], '`dialect` sets the wire only');
        $options = self::queue(['password' => ''], 'v3')->options();
        $this->assertSame(['dialect', 'default_queue', 'retry_after', 'migrate_batch', 'lease'], array_slice(array_keys($options), 0, 5));
        $this->assertFalse($options['password_set']);
        $this->assertArrayNotHasKey('password', $options);
        try {
            self::queue([], 'v4');
            $this->fail('a bad generation was accepted');
        } catch (\Throwable $e) {
            // \ValueError; PHP 7.4 (FFI backend) has none: \InvalidArgumentException there
            $this->assertInstanceOf(PHP_VERSION_ID >= 80000 ? \ValueError::class : \InvalidArgumentException::class, $e);
            $this->assertStringContainsString("Argument #2 (\$generation) must be 'v1'", $e->getMessage());
        }
    }

    public function testUrlOption(): void
    {
        $q = new RedisQueue(['url' => 'redis://127.0.0.1:' . TQN_REDIS_PORT . '/4']);
        $q->push('J', 'x', 'url');
        $this->assertSame(['{queues:url}'], self::keys(4));
    }

    public function testBadOptionValueIsAConfigError(): void
    {
        $this->expectException(ConfigException::class);
        self::queue(['dialect' => 'v9']);
    }

    public function testPayloadFieldsAndMeta(): void
    {
        $q = self::queue();
        $a = $q->push('J', ['x' => 1], 'meta', ['maxTries' => 3, 'timeout' => 5]);
        $b = $q->push('J', null, 'meta', ['maxTries' => null, 'timeout' => null, 'timeoutAt' => null]);
        $c = $q->push('J', new \stdClass(), 'meta', ['timeoutAt' => 1800000000]);
        $this->assertSame([
            '{"job":"J","maxTries":3,"timeout":5,"data":{"x":1},"id":"' . $a . '","attempts":0}',
            '{"job":"J","maxTries":null,"timeout":null,"timeoutAt":null,"data":null,"id":"' . $b . '","attempts":0}',
            '{"job":"J","maxTries":null,"timeout":null,"timeoutAt":1800000000,"data":{},"id":"' . $c . '","attempts":0}',
        ], self::listed('{queues:meta}'));

        $v1 = self::queue(['dialect' => 'v1']);
        $d = $v1->push('J', new \stdClass(), 'meta', ['maxTries' => 3]);
        $this->assertSame(['{"job":"J","data":[],"id":"' . $d . '","attempts":1}'], self::listed('queues:meta'), 'v1 ignores meta and normalises');
    }

    public function testLaterLaterAtLaterRawAndBulk(): void
    {
        $q = self::queue();
        $now = time();
        $q->later(30, 'J', 'later', 'd');
        $q->laterAt($now + 100, 'J', 'laterAt', 'd');
        $q->laterRaw(50, '{"job":"J","data":"raw","attempts":0}', 'd');
        $q->later(-5, 'J', 'past', 'd');
        $scores = [];
        foreach (self::zset('{queues:d}:delayed') as $member => $score) {
            $scores[json_decode((string) $member, true)['data']] = $score - $now;
        }
        $this->assertEqualsWithDelta(30, $scores['later'], 2);
        $this->assertEqualsWithDelta(100, $scores['laterAt'], 2);
        $this->assertEqualsWithDelta(50, $scores['raw'], 2);
        $this->assertLessThanOrEqual(0, $scores['past'], 'delay <= 0 still goes to the delayed set');

        $ids = $q->bulk(['A', ['B', 'own data'], ['C', [1, 2], ['maxTries' => 2]]], 'shared', 'b');
        $this->assertCount(3, $ids);
        $jobs = array_map(static fn ($raw) => json_decode($raw, true), self::listed('{queues:b}'));
        $this->assertSame(['A', 'B', 'C'], array_column($jobs, 'job'));
        $this->assertSame(['shared', 'own data', [1, 2]], array_column($jobs, 'data'));
        $this->assertSame([null, null, 2], array_column($jobs, 'maxTries'));
        $this->assertSame($ids, array_column($jobs, 'id'));
    }

    public function testPopReservedJobDeleteRelease(): void
    {
        $q = self::queue();
        $id = $q->push('app\job\Foo@bar', ['k' => 'v'], 'p', ['maxTries' => 4, 'timeout' => 9]);
        $job = $q->pop('p');
        $this->assertInstanceOf(ReservedJob::class, $job);
        $this->assertSame('p', $job->getQueue());
        $raw = '{"job":"app\\\\job\\\\Foo@bar","maxTries":4,"timeout":9,"data":{"k":"v"},"id":"' . $id . '","attempts":0}';
        $this->assertSame($raw, $job->getRawBody());
        $this->assertSame(substr($raw, 0, -2) . '1}', $job->getReservedBody());
        $this->assertSame(1, $job->attempts());
        $this->assertSame($id, $job->getJobId());
        $this->assertSame('app\job\Foo@bar', $job->getName());
        $this->assertSame(['k' => 'v'], $job->getData());
        $this->assertSame(json_decode($raw, true), $job->payload());
        $this->assertSame([4, 9, null], [$job->maxTries(), $job->timeout(), $job->timeoutAt()]);
        $this->assertSame(['ready' => 0, 'delayed' => 0, 'reserved' => 1], $q->sizes('p'));

        $this->assertTrue($q->release($job, 0));
        $this->assertFalse($q->release($job, 0), 'a late release adds nothing');
        $this->assertSame(['ready' => 0, 'delayed' => 1, 'reserved' => 0], $q->sizes('p'));
        $this->assertSame(['delayed' => 1, 'reserved' => 0], $q->migrate('p'));

        $again = $q->pop('p');
        $this->assertSame(2, $again->attempts());
        $this->assertTrue($q->deleteReserved($again));
        $this->assertFalse($q->deleteReserved($again));
        $this->assertSame(0, $q->size('p'));
        $this->assertNull($q->pop('p'));
        $this->assertSame([], self::keys());
    }

    public function testMalformedPayloadStaysReservedAndThrowsOnRead(): void
    {
        $q = self::queue();
        $this->assertNull($q->pushRaw('not json', 'bad'));
        $job = $q->pop('bad');
        $this->assertSame('not json', $job->getRawBody());
        $this->assertSame(['ready' => 0, 'delayed' => 0, 'reserved' => 1], $q->sizes('bad'), 'nothing lost');
        $this->expectException(MalformedPayloadException::class);
        $job->attempts();
    }

    public function testErrors(): void
    {
        try {
            self::queue()->push('J', "\x80");
            $this->fail('expected PayloadException');
        } catch (PayloadException $e) {
            $this->assertSame('Unable to create payload: Malformed UTF-8 characters, possibly incorrectly encoded', $e->getMessage());
        }
        $port = \tqn\tests\support\PrivateRedis::freePort();
        try {
            new RedisQueue(['port' => $port, 'password' => 'hunter2']);
            $this->fail('expected ConnectionException');
        } catch (ConnectionException $e) {
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
            $this->assertStringNotContainsString('hunter2', $e->getMessage());
        }
        $this->assertSame([], self::keys());
    }

    public function testReadTimeoutIsAConnectionError(): void
    {
        // a listener that accepts and never answers
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $name = (string) stream_socket_get_name($server, false);
        $port = (int) substr($name, strrpos($name, ':') + 1);
        $started = microtime(true);
        try {
            new RedisQueue(['port' => $port, 'select' => 1, 'timeout' => 0.5, 'read_timeout' => 0.5]);
            $this->fail('expected ConnectionException');
        } catch (ConnectionException $e) {
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
        } finally {
            fclose($server);
        }
        $this->assertLessThan(5.0, microtime(true) - $started);
    }
}
