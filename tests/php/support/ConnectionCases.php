<?php
/*
 * Connection and error behaviour of the shim connector, the same for both generations (used by
 * V1ConnectionTest and V3ConnectionTest, which say how their generation builds a connector).
 */

declare(strict_types=1);

namespace tqn\tests\support;

use think\queue\native\AuthException;
use think\queue\native\ConnectionException;
use think\queue\native\PayloadException;
use think\queue\native\QueueException;

trait ConnectionCases
{
    private static ?PrivateRedis $passwordServer = null;

    /** A connector built the way this generation's think-queue builds it, from the app config + $overrides. */
    abstract protected static function makeConnector(array $overrides = []): object;

    /** 'v1' or 'v3' */
    abstract protected static function generation(): string;

    protected static function readyKey(string $queue, ?string $dialect = null): string
    {
        return ($dialect ?? static::generation()) === 'v1' ? "queues:$queue" : "{queues:$queue}";
    }

    private static function passwordServer(): PrivateRedis
    {
        return self::$passwordServer ??= PrivateRedis::start(['--requirepass', 'right-pw']);
    }

    /** A client of its own: admin() sends the connectors' held-back deletes first, this one does not. */
    private static function bystander(): \Redis
    {
        $r = new \Redis();
        $r->connect('127.0.0.1', TQN_REDIS_PORT, 2.0);

        return $r;
    }

    private static function reservedKey(string $queue): string
    {
        return self::readyKey($queue) . ':reserved';
    }

    private static function zremCalls(\Redis $r): int
    {
        $stats = $r->info('commandstats');

        return isset($stats['cmdstat_zrem']) && preg_match('/calls=(\d+)/', $stats['cmdstat_zrem'], $m) ? (int) $m[1] : 0;
    }

    public function testDeleteIsWrittenBehindAndRidesWithTheNextPop(): void
    {
        $queue = static::makeConnector();
        $queue->push('Hello', 'one', 'behind');
        $queue->push('Hello', 'two', 'behind');
        $first = $queue->pop('behind');
        $raw = self::bystander();
        $zrem = self::zremCalls($raw);
        $first->delete();
        $this->assertTrue($first->isDeleted());
        $this->assertSame([$first->getReservedJob()], $raw->zRange(self::reservedKey('behind'), 0, -1), 'held back: nothing sent yet');
        $this->assertSame($zrem, self::zremCalls($raw));
        $second = $queue->pop('behind');
        $this->assertSame([$second->getReservedJob()], $raw->zRange(self::reservedKey('behind'), 0, -1), 'the pop removed it');
        $this->assertSame($zrem + 1, self::zremCalls($raw), 'one ZREM, inside the pop script');
        $second->delete();
        $this->assertSame(1, $queue->flush());
        $this->assertSame([], $raw->zRange(self::reservedKey('behind'), 0, -1));
        $this->assertSame(0, $queue->flush());
    }

    public function testHeldBackDeletesGoOutWithOtherCommandsAndOnDestruction(): void
    {
        $queue = static::makeConnector();
        $queue->push('Hello', 'one', 'behind');
        $queue->push('Hello', 'two', 'behind');
        $queue->pop('behind')->delete();
        $this->assertSame(1, $queue->size('behind'), 'the connector reads its own writes: one ready, none reserved');
        $raw = self::bystander();
        $this->assertSame(0, $raw->zCard(self::reservedKey('behind')));

        $queue->pop('behind')->delete();
        $this->assertSame(1, $raw->zCard(self::reservedKey('behind')));
        $queue = null; // the connector (and its RedisQueue) is destroyed
        $this->assertSame(0, $raw->zCard(self::reservedKey('behind')), 'sent on destruction');

        $a = static::makeConnector();
        $b = static::makeConnector();
        $a->push('Hello', 'x', 'behind');
        $b->push('Hello', 'y', 'behind');
        $a->pop('behind')->delete();
        $b->pop('behind')->delete();
        $this->assertSame(2, $raw->zCard(self::reservedKey('behind')));
        $this->assertSame(2, \think\queue\native\connector\Redis::flushAll());
        $this->assertSame(0, $raw->zCard(self::reservedKey('behind')));
    }

    public function testDeferredAckFalseDeletesAtOnce(): void
    {
        $queue = static::makeConnector(['deferred_ack' => false]);
        $queue->push('Hello', 'one', 'at-once');
        $queue->pop('at-once')->delete();
        $this->assertSame(0, self::bystander()->zCard(self::reservedKey('at-once')));
        $this->assertSame(0, $queue->flush());
    }

    public function testDeadRedisThrowsConnectionExceptionAtConstruction(): void
    {
        $port = PrivateRedis::freePort();
        try {
            static::makeConnector(['port' => $port, 'password' => 'sekret-pw', 'timeout' => 1]);
            $this->fail('expected ConnectionException');
        } catch (ConnectionException $e) {
            $this->assertNotInstanceOf(AuthException::class, $e);
            $this->assertInstanceOf(QueueException::class, $e);
            $this->assertInstanceOf(\RuntimeException::class, $e);
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
            $this->assertStringNotContainsString('sekret-pw', $e->getMessage());
        }
    }

    public function testWrongPasswordThrowsAuthException(): void
    {
        $port = self::passwordServer()->port;
        try {
            static::makeConnector(['port' => $port, 'password' => 'wrong-pw']);
            $this->fail('expected AuthException');
        } catch (AuthException $e) {
            $this->assertInstanceOf(ConnectionException::class, $e);
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
            $this->assertStringNotContainsString('wrong-pw', $e->getMessage());
        }

        $queue = static::makeConnector(['port' => $port, 'password' => 'right-pw']);
        $id = $queue->push('Hello', 'authenticated', 'auth');
        $job = $queue->pop('auth');
        $this->assertSame($id, $job->getJobId());
        $job->delete();
    }

    public function testUnencodableDataIsRefusedAndNothingIsWritten(): void
    {
        $queue = static::makeConnector();
        $cases = [
            'invalid UTF-8 data'  => [fn () => $queue->push('Hello', ['name' => "caf\xe9"], 'bad'), 'Malformed UTF-8 characters, possibly incorrectly encoded'],
            'invalid UTF-8 name'  => [fn () => $queue->push("Hel\xfflo", 'x', 'bad'), 'Malformed UTF-8 characters, possibly incorrectly encoded'],
            'INF'                 => [fn () => $queue->push('Hello', ['x' => INF], 'bad'), 'Inf and NaN cannot be JSON encoded'],
            'NAN, later'          => [fn () => $queue->later(5, 'Hello', [1, NAN], 'bad'), 'Inf and NaN cannot be JSON encoded'],
            'one bad job in bulk' => [fn () => $queue->bulk(['Hello', 'SendSms'], "\xc3\x28", 'bad'), 'Malformed UTF-8 characters, possibly incorrectly encoded'],
        ];
        foreach ($cases as $what => [$call, $message]) {
            try {
                $call();
                $this->fail("$what: expected PayloadException");
            } catch (PayloadException $e) {
                $this->assertSame('Unable to create payload: ' . $message, $e->getMessage(), $what);
            }
        }
        $this->assertSame([], self::keys());
    }

    public function testPersistentConnectionIsReusedForTheSameConfigOnly(): void
    {
        $a = static::makeConnector(['persistent' => true, 'select' => 5]);
        $a->push('Hello', 'a', 'persist');
        $first = self::clientIdsInDb(5);
        $this->assertCount(1, $first);
        unset($a);
        $this->assertSame($first, self::clientIdsInDb(5), 'given back to the pool, still open');

        $b = static::makeConnector(['persistent' => true, 'select' => 5]);
        $b->push('Hello', 'b', 'persist');
        $this->assertSame($first, self::clientIdsInDb(5), 'same config: the same connection again');

        // The pool lends a connection to one connector at a time (phpredis pconnect would share
        // one socket between both): a second live connector gets a connection of its own.
        $c = static::makeConnector(['persistent' => true, 'select' => 5]);
        $this->assertSame(2, $c->size('persist'));
        $this->assertCount(2, self::clientIdsInDb(5));
        unset($b, $c);
        $pooled = self::clientIdsInDb(5);
        $this->assertCount(2, $pooled, 'both idle in the pool');

        $d = static::makeConnector(['persistent' => true, 'select' => 6]);
        $d->push('Hello', 'd', 'persist');
        $this->assertCount(1, self::clientIdsInDb(6), 'another database: another connection');
        $this->assertSame($pooled, self::clientIdsInDb(5), 'and not one of the db 5 connections');
        unset($d);
        $e = static::makeConnector(['persistent' => true, 'select' => 5]);
        $this->assertSame(2, $e->size('persist'));
        $this->assertSame($pooled, self::clientIdsInDb(5), 'a db 5 connector reuses a pooled db 5 connection');

        $f = static::makeConnector(['select' => 7]);
        $g = static::makeConnector(['select' => 7]);
        $f->push('Hello', 'f', 'persist');
        $g->push('Hello', 'g', 'persist');
        $this->assertSame(2, self::clientsInDb(7), 'not persistent: one connection each');
        unset($f, $g);
        for ($i = 0; $i < 50 && self::clientsInDb(7) > 0; $i++) {
            usleep(20000); // the server notices a closed socket a moment later
        }
        $this->assertSame(0, self::clientsInDb(7), 'not persistent: closed with the connector');
    }

    /** @return array{0: bool, 1: string} [ok, what went wrong] after $n push/pop/delete rounds on $queueName */
    private static function pingPong(object $queue, string $queueName, string $tag, int $n): array
    {
        for ($i = 0; $i < $n; $i++) {
            $id = $queue->push('Hello', ['tag' => $tag, 'i' => $i], $queueName);
            $job = $queue->pop($queueName);
            if ($job === null) {
                return [false, "$tag: round $i: pop returned null"];
            }
            $payload = json_decode($job->getRawBody(), true);
            if ($job->getJobId() !== $id || $payload['data'] !== ['tag' => $tag, 'i' => $i]) {
                return [false, "$tag: round $i: pushed $id, popped " . $job->getRawBody()];
            }
            $job->delete();
        }

        return [true, ''];
    }

    /**
     * Forks; the child runs $childWork (which returns an array) and reports it through a file,
     * then SIGKILLs itself so that none of PHPUnit's or PHP's shutdown runs in it.
     */
    private function inChild(callable $childWork, callable $parentWork): array
    {
        $file = tempnam(sys_get_temp_dir(), 'tqn-fork-');
        $pid = pcntl_fork();
        $this->assertNotSame(-1, $pid, 'fork failed');
        if ($pid === 0) {
            try {
                $result = $childWork();
            } catch (\Throwable $e) {
                $result = ['exception' => get_class($e) . ': ' . $e->getMessage()];
            }
            file_put_contents($file, json_encode($result));
            // the SIGKILL skips PHP's shutdown, which is where a child's connectors would send the
            // deletes they hold back (deferred_ack): send them first, as a normal exit would
            \think\queue\native\connector\Redis::flushAll();
            posix_kill(getmypid(), SIGKILL);
        }
        try {
            $parentWork();
        } finally {
            pcntl_waitpid($pid, $status);
        }
        $result = json_decode((string) file_get_contents($file), true);
        unlink($file);
        $this->assertIsArray($result, 'the child reported nothing');

        return $result;
    }

    public function testForkedChildGetsItsOwnConnection(): void
    {
        foreach ([false, true] as $persistent) {
            $db = $persistent ? 9 : 8;
            $queue = static::makeConnector(['select' => $db, 'persistent' => $persistent]);
            $queue->push('Hello', 'warm up', 'fork-parent');
            $queue->pop('fork-parent')->delete();

            $child = $this->inChild(
                static function () use ($queue, $db): array {
                    [$ok, $why] = self::pingPong($queue, 'fork-child', 'child', 300);
                    $probe = new \Redis();
                    $probe->connect('127.0.0.1', TQN_REDIS_PORT, 2.0);
                    $conns = 0;
                    foreach (explode("\n", trim((string) $probe->rawCommand('CLIENT', 'LIST'))) as $line) {
                        // the workers-registry heartbeats (one per process) are not the connector's
                        $conns += (int) (strpos($line, " db=$db ") !== false && strpos($line, ' name=tqn-registry ') === false);
                    }

                    return ['ok' => $ok, 'why' => $why, 'conns' => $conns];
                },
                function () use ($queue): void {
                    [$ok, $why] = self::pingPong($queue, 'fork-parent', 'parent', 300);
                    $this->assertTrue($ok, $why);
                }
            );
            $what = $persistent ? 'persistent' : 'plain';
            $this->assertArrayNotHasKey('exception', $child, $what . ': ' . ($child['exception'] ?? ''));
            $this->assertTrue($child['ok'], $what . ': ' . $child['why']);
            $this->assertSame(2, $child['conns'], "$what: parent and child each on their own connection");
            [$ok, $why] = self::pingPong($queue, 'fork-parent', 'parent-after', 20);
            $this->assertTrue($ok, $why);
        }
        $this->assertSame([], self::keys(8));
        $this->assertSame([], self::keys(9));
    }

    public function testExplicitDialectOverridesTheDetectedOne(): void
    {
        $other = static::generation() === 'v1' ? 'v3' : 'v1';
        $queue = static::makeConnector(['dialect' => $other]);
        $this->assertSame($other, $queue->getDialect());
        $id = $queue->push('Hello', 'x', 'dialect');
        $this->assertSame([self::readyKey('dialect', $other)], self::keys());
        $job = $queue->pop('dialect');
        $this->assertSame($id, $job->getJobId());
        $this->assertSame(1, $job->attempts());
        $job->delete();
        $this->assertSame([], self::keys());
    }
}
