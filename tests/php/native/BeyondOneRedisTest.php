<?php
/*
 * Cluster / Sentinel / TLS / WAIT settings as a PHP config array holds them (nested arrays):
 * they reach the core's option parser, errors name the key and never a password. The servers
 * themselves are exercised by the Rust scale suite (tests/scale_*.rs).
 */

declare(strict_types=1);

namespace tqn\tests\native;

use think\queue\native\ConfigException;
use think\queue\native\ConnectionException;
use think\queue\native\RedisQueue;
use tqn\tests\support\RedisTestCase;

final class BeyondOneRedisTest extends RedisTestCase
{
    /** @return array<string, array{0: array<string, mixed>, 1: string}> */
    public static function badConfigs(): array
    {
        return [
            'v1 default queue on a cluster' => [['cluster' => ['127.0.0.1:1'], 'dialect' => 'v1'], '`{default}`'],
            'cluster entry without port' => [['cluster' => ['nohost']], '`cluster`'],
            'cluster with a database' => [['cluster' => '127.0.0.1:1,127.0.0.1:2', 'select' => 2], '`select`'],
            'sentinel without master' => [['sentinel' => ['nodes' => ['127.0.0.1:1']]], '`sentinel.master`'],
            'sentinel without nodes' => [['sentinel' => ['master' => 'mymaster']], '`sentinel.nodes`'],
            'client certificate without key' => [['tls_cert' => '/tmp/client.crt'], '`tls_cert`'],
            'wait for no replica' => [['wait' => ['replicas' => 0]], '`wait.replicas`'],
            'missing CA file' => [['tls_ca' => '/nonexistent/ca.crt', 'port' => TQN_REDIS_PORT], '`tls_ca`'],
        ];
    }

    /** @dataProvider badConfigs */
    public function testBadSettingsNameTheKey(array $config, string $key): void
    {
        try {
            new RedisQueue($config);
            $this->fail('accepted');
        } catch (ConfigException $e) {
            $this->assertStringContainsString($key, $e->getMessage());
        }
    }

    public function testSentinelsAreAskedAndThePasswordNeverShows(): void
    {
        try {
            new RedisQueue([
                'sentinel' => ['master' => 'mymaster', 'nodes' => ['127.0.0.1:1'], 'password' => 'sentinel-secret-7'],
                'password' => 'data-secret-7',
                'timeout' => 1,
            ]);
            $this->fail('no sentinel there');
        } catch (ConnectionException $e) {
            $this->assertStringContainsString('sentinel master `mymaster` via 127.0.0.1:1', $e->getMessage());
            $this->assertStringNotContainsString('secret-7', $e->getMessage());
        }
    }

    public function testWaitIsSentAfterWrites(): void
    {
        // the suite's Redis has no replica: WAIT 1 gets 0 acknowledgements, so the push reports it
        $q = new RedisQueue(['port' => TQN_REDIS_PORT, 'wait' => ['replicas' => 1, 'timeout_ms' => 10]]);
        $this->assertSame(0, $q->size('beyond-wait'));   // reads are not followed by WAIT
        try {
            $q->push('app\job\A', [], 'beyond-wait');
            $this->fail('no replica acknowledged');
        } catch (ConnectionException $e) {
            $this->assertStringContainsString('acknowledged by 0 of 1 replicas', $e->getMessage());
        }
        self::admin()->del('{queues:beyond-wait}');
    }
}
