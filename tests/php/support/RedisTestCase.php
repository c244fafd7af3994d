<?php
declare(strict_types=1);

namespace tqn\tests\support;

use PHPUnit\Framework\TestCase;

/**
 * Base of the tests that use the private redis-server: an admin phpredis client (never the code
 * under test), a FLUSHALL before each test, and raw-state helpers.
 */
abstract class RedisTestCase extends TestCase
{
    private static ?\Redis $admin = null;

    protected static function admin(): \Redis
    {
        // The shim's delete() is written behind (deferred_ack): it reaches Redis with the
        // connector's next command. Looking at Redis is "the next command" for these tests; the
        // deferral itself is tested with a client of its own (DeferredAckCases).
        if (class_exists(\think\queue\native\connector\Redis::class, false)) {
            \think\queue\native\connector\Redis::flushAll();
        }
        if (self::$admin === null || getmypid() !== self::$adminPid) {
            self::$admin = new \Redis();
            self::$admin->connect('127.0.0.1', TQN_REDIS_PORT, 2.0);
            self::$adminPid = getmypid();
        }

        return self::$admin;
    }

    private static int $adminPid = 0;

    protected function setUp(): void
    {
        parent::setUp();
        self::admin()->flushAll();
        Recorder::reset();
    }

    /**
     * Every key of db 0 (or $db) that holds jobs, sorted: the metrics and workers-registry keys
     * native workers add (`<ready>:metrics[:MINUTE]`, `<ready>:workers`, `<ready>:worker:ID`) are
     * left out (tests/php/native/MetricsTest.php looks at those).
     */
    protected static function keys(int $db = 0): array
    {
        $admin = self::admin();
        $admin->select($db);
        $keys = $admin->keys('*');
        $admin->select(0);
        $keys = array_values(array_filter($keys, static function ($k) {
            return !self::isMetricsKey($k);
        }));
        sort($keys);

        return $keys;
    }

    /** Whether a key is one of the metrics or workers-registry keys native workers write. */
    protected static function isMetricsKey(string $key): bool
    {
        return preg_match('/:(metrics(:\d+)?|workers|worker:[^:}]+)$/', $key) === 1;
    }

    /** @return string[] elements of a list, head first */
    protected static function listed(string $key): array
    {
        return self::admin()->lRange($key, 0, -1);
    }

    /** @return array<string, float> members of a sorted set => score */
    protected static function zset(string $key): array
    {
        return self::admin()->zRange($key, 0, -1, true);
    }

    /** @return array<int, array<string, string>> CLIENT LIST, one map per connection, without the admin client and heartbeat connections */
    protected static function clients(): array
    {
        $admin = self::admin();
        $self  = (int) $admin->rawCommand('CLIENT', 'ID');
        $out   = [];
        foreach (preg_split('/\r?\n/', trim((string) $admin->rawCommand('CLIENT', 'LIST'))) as $line) {
            $fields = [];
            foreach (explode(' ', trim($line)) as $pair) {
                [$k, $v] = array_pad(explode('=', $pair, 2), 2, '');
                $fields[$k] = $v;
            }
            // the workers-registry heartbeat's own connection is not the connector's
            if ((int) ($fields['id'] ?? 0) !== $self && ($fields['name'] ?? '') !== 'tqn-registry') {
                $out[] = $fields;
            }
        }

        return $out;
    }

    /** @return int[] ids of the client connections (other than the admin client) whose current database is $db, sorted */
    protected static function clientIdsInDb(int $db): array
    {
        $ids = [];
        foreach (self::clients() as $c) {
            if ((int) ($c['db'] ?? -1) === $db) {
                $ids[] = (int) $c['id'];
            }
        }
        sort($ids);

        return $ids;
    }

    /** Number of client connections (other than the admin client) whose current database is $db. */
    protected static function clientsInDb(int $db): int
    {
        return count(array_filter(self::clients(), static fn (array $c): bool => (int) ($c['db'] ?? -1) === $db));
    }

    protected static function assertId($id): void
    {
        self::assertIsString($id);
        self::assertMatchesRegularExpression('/^[A-Za-z]{32}$/', $id);
    }
}
