<?php
/*
 * Tests of the stock baseline (bench/php/StockRedisQueue.php) against a private redis-server
 * (started by ./bootstrap.php):
 *
 *  - every line of tests/data/payloads.jsonl (stock-observed bytes): push/later, key and payload,
 *    pop (reserved member), release(0) (delayed member); error lines throw and leave Redis empty;
 *  - the command stream (MONITOR) of every operation, against spec §4.1-§4.5, because the
 *    benchmark's claim rests on the baseline doing the same round trips as stock;
 *  - connection options (AUTH, SELECT, option names and defaults).
 *
 * Run: phpunit --bootstrap tests/php/baseline/bootstrap.php tests/php/baseline
 */

declare(strict_types=1);

namespace tqn\tests\baseline;

use PHPUnit\Framework\TestCase;
use tqn\bench\StockJob;
use tqn\bench\StockRedisQueue;

final class StockRedisQueueTest extends TestCase
{
    private const VECTORS = __DIR__ . '/../../data/payloads.jsonl';

    /** @var \Redis|null test-side client (never the one under test) */
    private static $admin;
    /** @var string|null address of the admin client, excluded from MONITOR captures */
    private static $adminAddr;

    private static function admin(): \Redis
    {
        if (self::$admin === null) {
            self::$admin = new \Redis();
            self::$admin->connect('127.0.0.1', TQN_BASELINE_REDIS_PORT, 2.0);
            $info = (string) self::$admin->rawCommand('CLIENT', 'INFO');
            preg_match('/\baddr=(\S+)/', $info, $m);
            self::$adminAddr = $m[1] ?? null;
        }

        return self::$admin;
    }

    private static function queue(string $generation, array $config = []): StockRedisQueue
    {
        return new StockRedisQueue($config + ['port' => TQN_BASELINE_REDIS_PORT], $generation);
    }

    protected function setUp(): void
    {
        self::admin()->flushAll();
    }

    // =================================================================================== vectors

    public static function vectors(): iterable
    {
        $lines = file(self::VECTORS, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        if ($lines === false || count($lines) === 0) {
            throw new \RuntimeException('cannot read ' . self::VECTORS);
        }
        foreach ($lines as $line) {
            $case = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            yield $case['version'] . ' ' . $case['id'] => [$case];
        }
    }

    public function testVectorFileIsComplete(): void
    {
        $this->assertCount(452, iterator_to_array(self::vectors()));
    }

    /**
     * nested.d511_list is special: its data nests 511 levels, so the payload encodes (depth 512)
     * but json_decode (default depth 512) cannot read it back. Stock v1 builds its payload with
     * decode/set/encode (setMeta), so the decode yields null and only {"id","attempts":1} is
     * stored (job and data silently dropped; pop/release then work on that stub). Stock v3
     * stores the full payload, push returns null (its id lookup decodes the payload), and pop
     * throws ErrorException 'Undefined array key "attempts"' (ThinkPHP's conversion of the
     * warning) after the LPOP: the job is lost. The baseline reproduces both on purpose, so the
     * line is checked like any other (the vector records exactly that behaviour).
     *
     * @dataProvider vectors
     */
    public function testVector(array $case): void
    {
        $bytes = $case['input'] ?? base64_decode($case['input_b64'], true);
        [$job, $data, $queueName] = unserialize($bytes, ['allowed_classes' => ['stdClass']]);
        $queue = self::queue($case['version']);
        $redis = self::admin();
        $call  = static function () use ($case, $queue, $job, $data, $queueName) {
            return $case['op'] === 'later'
                ? $queue->later($case['delay'], $job, $data, $queueName)
                : $queue->push($job, $data, $queueName);
        };

        if ($case['error'] !== null) {
            try {
                $call();
                $this->fail('expected ' . $case['error']['class']);
            } catch (\InvalidArgumentException $e) {
                $this->assertSame($case['error']['class'], get_class($e));
                $this->assertSame($case['error']['message'], $e->getMessage());
            }
            $this->assertSame(0, $redis->dbSize(), 'Redis must be left empty after a refused payload');

            return;
        }

        // ---- push / later: key, bytes, return value, score
        $t0  = time();
        $ret = $call();
        $t1  = time();
        $id  = $queue->lastId();
        $this->assertIsString($id);
        $this->assertMatchesRegularExpression('/^[A-Za-z]{32}$/', $id);
        $payload = str_replace('<ID>', $id, $case['payload']);
        $this->assertSame(1, substr_count($case['payload'], '<ID>'));
        $this->assertSame([$case['key']], $redis->keys('*'));
        if ($case['op'] === 'later') {
            $this->assertSame([$payload], $redis->zRange($case['key'], 0, -1));
            $this->assertScoreBetween($redis->zScore($case['key'], $payload), $t0 + 30, $t1 + 30);
            $ready = substr($case['key'], 0, -strlen(':delayed'));
            // make it due without touching the bytes, as the vectors were produced
            $this->assertSame(0, $redis->zAdd($case['key'], ['XX'], 0, $payload));
        } else {
            $this->assertSame(\Redis::REDIS_LIST, $redis->type($case['key']));
            $this->assertSame([$payload], $redis->lRange($case['key'], 0, -1));
            $ready = $case['key'];
        }
        $this->assertSame($ready, $queue->readyKey($queueName));
        $this->assertSame($case['returns'] === '<ID>' ? $id : $case['returns'], $ret);

        // ---- pop
        if (isset($case['pop_error'])) {
            try {
                $queue->pop($queueName);
                $this->fail('expected ' . $case['pop_error']['class']);
            } catch (\Throwable $e) {
                $this->assertSame($case['pop_error']['class'], get_class($e));
                $this->assertSame($case['pop_error']['message'], $e->getMessage());
            }
            $this->assertSame('empty', $case['redis_after_pop_error']);
            $this->assertSame(0, $redis->dbSize(), 'stock loses this job at pop; so does the baseline');

            return;
        }
        $t0  = time();
        $got = $queue->pop($queueName);
        $t1  = time();
        $this->assertInstanceOf(StockJob::class, $got);
        $reserved = str_replace('<ID>', $id, $case['reserved']);
        $this->assertSame($payload, $got->getRawBody());
        $this->assertSame($reserved, $got->getReservedBody());
        $this->assertSame([$ready . ':reserved'], $redis->keys('*'));
        $this->assertSame([$reserved], $redis->zRange($ready . ':reserved', 0, -1));
        $this->assertScoreBetween($redis->zScore($ready . ':reserved', $reserved), $t0 + 60, $t1 + 60);
        $this->assertSame(1, $got->attempts());
        $this->assertSame($id, $got->getJobId());

        // ---- release(0)
        $t0 = time();
        $got->release(0);
        $t1 = time();
        $released = str_replace('<ID>', $id, $case['released']);
        $this->assertSame([$ready . ':delayed'], $redis->keys('*'));
        $this->assertSame([$released], $redis->zRange($ready . ':delayed', 0, -1));
        $this->assertScoreBetween($redis->zScore($ready . ':delayed', $released), $t0, $t1);
        $this->assertTrue($got->isReleased());
        $this->assertSame($case['version'] === 'v1', $got->isDeleted(), 'v1 release() goes through delete()');
    }

    // ============================================================================ wire sequences

    public function testV1WireSequences(): void
    {
        $q  = self::queue('v1');
        $R  = 'queues:default';
        $D  = "$R:delayed";
        $S  = "$R:reserved";
        $t0 = time();

        $wire = $this->monitor(function () use ($q, &$id, &$job, &$laterRet) {
            $id       = $q->push('Ok', ['x' => 1]);
            $laterRet = $q->later(30, 'Later', 'd');
            $job      = $q->pop();
            $job->delete();
        });
        $p      = '{"job":"Ok","data":{"x":1},"id":"' . $id . '","attempts":1}';
        $later  = '{"job":"Later","data":"d","id":"' . $q->lastId() . '","attempts":1}';
        $this->assertNull($laterRet, 'v1 later() returns null');
        $this->assertWire([
            ['RPUSH', $R, $p],
            ['ZADD', $D, '@now+30', $later],
            ['WATCH', $D], ['ZRANGEBYSCORE', $D, '-inf', '@now'], ['UNWATCH'],
            ['WATCH', $S], ['ZRANGEBYSCORE', $S, '-inf', '@now'], ['UNWATCH'],
            ['LPOP', $R],
            ['ZADD', $S, '@now+60', $p],
            ['ZREM', $S, $p],
        ], $wire, $t0);
        $this->assertTrue($job->isDeleted());

        // release: ZREM raw, ZADD delayed with attempts+1 (normalised re-encode)
        self::admin()->flushAll();
        $q->push('Rel', ['e' => new \stdClass()]);
        $job  = $q->pop();
        $raw  = $job->getRawBody();
        $wire = $this->monitor(function () use ($job) {
            $job->release(5);
        });
        $this->assertWire([
            ['ZREM', $S, $raw],
            ['ZADD', $D, '@now+5', str_replace('"attempts":1}', '"attempts":2}', $raw)],
        ], $wire, $t0);

        // migration: due delayed jobs (bytes unchanged, one RPUSH for all, by score) and expired
        // reservations (attempts+1 via decode/re-encode), inside WATCH/MULTI/EXEC
        self::admin()->flushAll();
        $redis   = self::admin();
        $delayed = [];
        for ($i = 0; $i < 250; $i++) {
            $delayed[] = $m = '{"job":"D","data":' . $i . ',"id":"x' . $i . '","attempts":1}';
            $redis->zAdd($D, $i, $m);
        }
        $redis->zAdd($S, 0, '{"job":"S","data":{"a":1.0},"id":"s","attempts":3}');
        $wire = $this->monitor(function () use ($q, &$job) {
            $job = $q->pop();
        });
        $this->assertWire([
            ['WATCH', $D], ['ZRANGEBYSCORE', $D, '-inf', '@now'],
            ['MULTI'], ['ZREMRANGEBYSCORE', $D, '-inf', '@now'], array_merge(['RPUSH', $R], $delayed), ['EXEC'],
            ['UNWATCH'],
            ['WATCH', $S], ['ZRANGEBYSCORE', $S, '-inf', '@now'],
            ['MULTI'], ['ZREMRANGEBYSCORE', $S, '-inf', '@now'],
            ['RPUSH', $R, '{"job":"S","data":{"a":1},"id":"s","attempts":4}'], ['EXEC'],
            ['UNWATCH'],
            ['LPOP', $R],
            ['ZADD', $S, '@now+60', $delayed[0]],
        ], $wire, $t0);
        $this->assertSame($delayed[0], $job->getRawBody());
        $this->assertSame(250, $redis->lLen($R));

        // an expired reservation that is not a think-queue payload: the transaction is
        // discarded and the member stays (stock's behaviour, spec §4.2)
        self::admin()->flushAll();
        $redis->zAdd($S, 0, 'not json');
        $wire = $this->monitor(function () use ($q, &$job) {
            $job = $q->pop();
        });
        $this->assertNull($job);
        $this->assertWire([
            ['WATCH', $D], ['ZRANGEBYSCORE', $D, '-inf', '@now'], ['UNWATCH'],
            ['WATCH', $S], ['ZRANGEBYSCORE', $S, '-inf', '@now'], ['MULTI'], ['DISCARD'], ['UNWATCH'],
            ['LPOP', $R],
        ], $wire, $t0);
        $this->assertSame(['not json'], $redis->zRange($S, 0, -1));

        // expire => null: no reserved migration, reserved score = now
        self::admin()->flushAll();
        $q2 = self::queue('v1', ['expire' => null, 'default' => 'q2']);
        $q2->push('N');
        $wire = $this->monitor(function () use ($q2) {
            $q2->pop();
        });
        $this->assertWire([
            ['WATCH', 'queues:q2:delayed'], ['ZRANGEBYSCORE', 'queues:q2:delayed', '-inf', '@now'], ['UNWATCH'],
            ['LPOP', 'queues:q2'],
            ['ZADD', 'queues:q2:reserved', '@now', $redis->zRange('queues:q2:reserved', 0, -1)[0]],
        ], $wire, $t0);
    }

    public function testV3WireSequences(): void
    {
        $q  = self::queue('v3');
        $R  = '{queues:default}';
        $D  = "$R:delayed";
        $S  = "$R:reserved";
        $t0 = time();

        $wire = $this->monitor(function () use ($q, &$id, &$job, &$laterId, &$size) {
            $id      = $q->push('Ok', ['e' => new \stdClass(), 'z' => -0.0]);
            $laterId = $q->later(30, 'Later', 'd');
            $size    = $q->size();
            $job     = $q->pop();
            $job->delete();
        });
        $p        = '{"job":"Ok","maxTries":null,"timeout":null,"data":{"e":{},"z":-0},"id":"' . $id . '","attempts":0}';
        $reserved = '{"job":"Ok","maxTries":null,"timeout":null,"data":{"e":[],"z":0},"id":"' . $id . '","attempts":1}';
        $later    = '{"job":"Later","maxTries":null,"timeout":null,"data":"d","id":"' . $laterId . '","attempts":0}';
        $this->assertSame($q->lastId(), $laterId, 'v3 later() returns the id');
        $this->assertSame(2, $size);
        $this->assertWire([
            ['RPUSH', $R, $p],
            ['ZADD', $D, '@now+30', $later],
            ['LLEN', $R], ['ZCARD', $D], ['ZCARD', $S],
            ['WATCH', $D], ['ZRANGEBYSCORE', $D, '-inf', '@now'], ['UNWATCH'],
            ['WATCH', $S], ['ZRANGEBYSCORE', $S, '-inf', '@now'], ['UNWATCH'],
            ['LPOP', $R],
            ['ZADD', $S, '@now+60', $reserved],
            ['ZREM', $S, $reserved],
        ], $wire, $t0);
        $this->assertSame($p, $job->getRawBody());
        $this->assertSame(1, $job->attempts());
        $this->assertFalse($job->isReleased());

        // release: ZREM reserved copy, ZADD delayed that same copy; isDeleted stays false
        self::admin()->flushAll();
        $q->push('Rel', 1, 'other');
        $job  = $q->pop('other');
        $copy = $job->getReservedBody();
        $wire = $this->monitor(function () use ($job) {
            $job->release(7);
        });
        $this->assertWire([
            ['ZREM', '{queues:other}:reserved', $copy],
            ['ZADD', '{queues:other}:delayed', '@now+7', $copy],
        ], $wire, $t0);
        $this->assertFalse($job->isDeleted());
        $this->assertSame('other', $job->getQueue());

        // migration: ZREMRANGEBYRANK, RPUSH chunks of 100 (bytes unchanged), expired
        // reservations moved back unchanged
        self::admin()->flushAll();
        $redis   = self::admin();
        $delayed = [];
        for ($i = 0; $i < 250; $i++) {
            $delayed[] = $m = '{"job":"D","maxTries":null,"timeout":null,"data":' . $i . ',"id":"x' . $i . '","attempts":0}';
            $redis->zAdd($D, $i, $m);
        }
        $expired = '{"job":"S","maxTries":null,"timeout":null,"data":{"a":1.0},"id":"s","attempts":3}';
        $redis->zAdd($S, 0, $expired);
        $wire = $this->monitor(function () use ($q, &$job) {
            $job = $q->pop();
        });
        $this->assertWire([
            ['WATCH', $D], ['ZRANGEBYSCORE', $D, '-inf', '@now'],
            ['MULTI'], ['ZREMRANGEBYRANK', $D, '0', '249'],
            array_merge(['RPUSH', $R], array_slice($delayed, 0, 100)),
            array_merge(['RPUSH', $R], array_slice($delayed, 100, 100)),
            array_merge(['RPUSH', $R], array_slice($delayed, 200)),
            ['EXEC'], ['UNWATCH'],
            ['WATCH', $S], ['ZRANGEBYSCORE', $S, '-inf', '@now'],
            ['MULTI'], ['ZREMRANGEBYRANK', $S, '0', '0'], ['RPUSH', $R, $expired], ['EXEC'],
            ['UNWATCH'],
            ['LPOP', $R],
            ['ZADD', $S, '@now+60', str_replace('"attempts":0}', '"attempts":1}', $delayed[0])],
        ], $wire, $t0);
        $this->assertSame(250, $redis->lLen($R));
        $this->assertSame($expired, $redis->lIndex($R, -1));

        // block_for: BLPOP instead of LPOP
        self::admin()->flushAll();
        $qb = self::queue('v3', ['block_for' => 1, 'queue' => 'blk', 'retry_after' => 90]);
        $id = $qb->push('B');
        $wire = $this->monitor(function () use ($qb, &$job, &$none) {
            $job  = $qb->pop();
            $none = $qb->pop();
        });
        $RB   = '{queues:blk}';
        $pre  = [
            ['WATCH', "$RB:delayed"], ['ZRANGEBYSCORE', "$RB:delayed", '-inf', '@now'], ['UNWATCH'],
            ['WATCH', "$RB:reserved"], ['ZRANGEBYSCORE', "$RB:reserved", '-inf', '@now'], ['UNWATCH'],
        ];
        $this->assertWire(array_merge(
            $pre,
            [['BLPOP', $RB, '1'], ['ZADD', "$RB:reserved", '@now+90', $job->getReservedBody()]],
            $pre,
            [['BLPOP', $RB, '1']]
        ), $wire, $t0);
        $this->assertNull($none);
        $this->assertSame($id, $job->getJobId());

        // a popped payload without "attempts": ErrorException after the LPOP, job lost (as stock)
        self::admin()->flushAll();
        $q->pushRaw('{"job":"NoAttempts"}');
        $wire = $this->monitor(function () use ($q) {
            try {
                $q->pop();
                $this->fail('expected ErrorException');
            } catch (\ErrorException $e) {
                $this->assertSame('Undefined array key "attempts"', $e->getMessage());
            }
        });
        $this->assertSame(['LPOP', $R], end($wire));
        $this->assertSame(0, $redis->dbSize());
    }

    // ========================================================================= options, connect

    public function testConnectSequenceAuthSelectAndOptionNames(): void
    {
        $redis = self::admin();
        $t0    = time();
        $redis->config('SET', 'requirepass', 's3cret');
        try {
            foreach (['v1' => ['default' => 'dq'], 'v3' => ['queue' => 'dq']] as $gen => $opts) {
                $wire = $this->monitor(function () use ($gen, $opts, &$q) {
                    $q = self::queue($gen, $opts + ['password' => 's3cret', 'select' => 3, 'timeout' => 1.5]);
                    $q->push('Sel');
                }, 's3cret');
                $key = $gen === 'v1' ? 'queues:dq' : '{queues:dq}';
                $this->assertSame(['AUTH', '(redacted)'], $wire[0]);
                $this->assertSame(['SELECT', '3'], $wire[1]);
                $this->assertSame('RPUSH', $wire[2][0]);
                $this->assertSame($key, $wire[2][1]);
                $this->assertSame($key, $q->readyKey(null));
                $this->assertSame($key, $q->readyKey('0'), "'0' is a falsy queue name");
                $this->assertSame($key, $q->readyKey(''));
                $redis->select(3);
                $this->assertSame(1, $redis->lLen($key));
                $redis->select(0);
            }
        } finally {
            $redis->config('SET', 'requirepass', '');
        }
        // defaults: no AUTH, no SELECT; falsy password / select are skipped
        foreach (['v1', 'v3'] as $gen) {
            $wire = $this->monitor(function () use ($gen) {
                self::queue($gen, ['password' => null, 'select' => '0'])->push('Plain');
            });
            $this->assertCount(1, $wire);
            $this->assertSame('RPUSH', $wire[0][0]);
        }
        $this->assertGreaterThanOrEqual($t0, time());
    }

    public function testRetryAfterNullMeansSixtyInV3AndExpireNullDisablesExpiryInV1(): void
    {
        $v3 = self::queue('v3', ['retry_after' => null]);
        $v3->push('A');
        $t0  = time();
        $job = $v3->pop();
        $this->assertScoreBetween(self::admin()->zScore('{queues:default}:reserved', $job->getReservedBody()), $t0 + 60, time() + 60);

        $v1 = self::queue('v1', ['expire' => null]);
        $v1->push('B');
        $t0  = time();
        $job = $v1->pop();
        $this->assertScoreBetween(self::admin()->zScore('queues:default:reserved', $job->getRawBody()), $t0, time());
    }

    public function testIdsLookLikeThinkHelper(): void
    {
        $q    = self::queue('v3');
        $seen = [];
        for ($i = 0; $i < 300; $i++) {
            $id = $q->push('Id');
            $this->assertMatchesRegularExpression('/^[A-Za-z]{32}$/', $id);
            $this->assertLessThanOrEqual(5, max(count_chars($id, 1)), 'each letter at most 5 times');
            $seen[$id] = true;
        }
        $this->assertCount(300, $seen);
    }

    public function testV1PushRawWithoutIdFailsAfterWriting(): void
    {
        $q = self::queue('v1');
        try {
            $q->pushRaw('{"job":"NoId"}');
            $this->fail('expected ErrorException');
        } catch (\ErrorException $e) {
            $this->assertSame('Undefined array key "id"', $e->getMessage());
        }
        $this->assertSame(['{"job":"NoId"}'], self::admin()->lRange('queues:default', 0, -1));
        $this->assertNull(self::queue('v3')->pushRaw('{"job":"NoId"}'));
    }

    public function testJobAccessors(): void
    {
        foreach (['v1', 'v3'] as $gen) {
            self::admin()->flushAll();
            $q  = self::queue($gen);
            $id = $q->push('app\job\Mail@send', ['to' => 'a@b.c', 'n' => [1, 2]], 'mail');
            $j  = $q->pop('mail');
            $this->assertSame('app\job\Mail@send', $j->getName());
            $this->assertSame(['to' => 'a@b.c', 'n' => [1, 2]], $j->getData());
            $this->assertSame($id, $j->getJobId());
            $this->assertSame(2, $j->payload('data.n.1'));
            $this->assertSame('dflt', $j->payload('missing', 'dflt'));
            $this->assertSame($gen === 'v1' ? 1 : 0, $j->payload()['attempts']);
            $this->assertSame(1, $j->attempts());
            $this->assertSame(1, $q->size('mail'), 'size counts the reserved job');
            $j->release(0);
            $j2 = $q->pop('mail');
            $this->assertSame(2, $j2->attempts(), "$gen: second delivery after release");
            $j2->delete();
            $this->assertSame(0, self::admin()->dbSize());
        }
    }

    // ============================================================================== helpers

    private function assertScoreBetween($score, int $min, int $max): void
    {
        $this->assertIsFloat($score);
        $this->assertGreaterThanOrEqual($min, $score);
        $this->assertLessThanOrEqual($max, $score);
        $this->assertSame(floor($score), $score, 'scores are whole seconds');
    }

    /**
     * Expected commands may use '@now', '@now+N' for scores: they must be integers in
     * [$t0 + N, time() + N]. AUTH arguments are compared redacted.
     */
    private function assertWire(array $expected, array $actual, int $t0): void
    {
        $t1 = time();
        $this->assertCount(count($expected), $actual, "command count\n" . self::dump($actual));
        foreach ($expected as $i => $cmd) {
            $this->assertCount(count($cmd), $actual[$i], "command $i\n" . self::dump($actual));
            foreach ($cmd as $j => $arg) {
                if (is_string($arg) && preg_match('/^@now(?:\+(\d+))?$/', $arg, $m)) {
                    $add = (int) ($m[1] ?? 0);
                    $this->assertMatchesRegularExpression('/^\d+$/', $actual[$i][$j]);
                    $this->assertGreaterThanOrEqual($t0 + $add, (int) $actual[$i][$j]);
                    $this->assertLessThanOrEqual($t1 + $add, (int) $actual[$i][$j]);
                    continue;
                }
                $this->assertSame($arg, $actual[$i][$j], "command $i argument $j\n" . self::dump($actual));
            }
        }
    }

    private static function dump(array $commands): string
    {
        return implode("\n", array_map(static function (array $c): string {
            return implode(' ', array_map(static function (string $a): string {
                return strlen($a) > 80 ? substr($a, 0, 77) . '...' : $a;
            }, $c));
        }, $commands));
    }

    /**
     * Runs $ops and returns the commands every client except the admin one sent meanwhile
     * (MONITOR on a raw socket), each as [COMMAND, arg, ...].
     */
    private function monitor(\Closure $ops, ?string $password = null): array
    {
        self::admin();
        $sock = stream_socket_client('tcp://127.0.0.1:' . TQN_BASELINE_REDIS_PORT, $errno, $errstr, 2.0);
        $this->assertNotFalse($sock, "monitor connect: $errstr");
        stream_set_timeout($sock, 5);
        if ($password !== null) {
            fwrite($sock, "AUTH $password\r\n");
            $this->assertSame("+OK\r\n", fgets($sock));
        }
        fwrite($sock, "MONITOR\r\n");
        $this->assertSame("+OK\r\n", fgets($sock));
        $ops();
        $marker = 'tqn-monitor-end-' . bin2hex(random_bytes(6));
        self::admin()->echo($marker);
        $commands = [];
        while (true) {
            $line = fgets($sock);
            $this->assertNotFalse($line, 'MONITOR stream ended before the end marker');
            if (!preg_match('/^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)\r\n$/s', $line, $m)) {
                continue;
            }
            $args = self::parseMonitorArgs($m[2]);
            if ($m[1] === self::$adminAddr) {
                if (strtoupper($args[0]) === 'ECHO' && ($args[1] ?? '') === $marker) {
                    break;
                }
                continue;
            }
            $args[0] = strtoupper($args[0]);
            if ($args[0] === 'AUTH') {
                $args = ['AUTH', '(redacted)'];
            }
            $commands[] = $args;
        }
        fclose($sock);

        return $commands;
    }

    /** Parses MONITOR's quoted argument list ("a" "b\"c" "\x00"). */
    private static function parseMonitorArgs(string $s): array
    {
        $args = [];
        $n    = strlen($s);
        $i    = 0;
        while ($i < $n) {
            if ($s[$i] === ' ') {
                $i++;
                continue;
            }
            if ($s[$i] !== '"') {
                throw new \RuntimeException("unexpected MONITOR syntax: $s");
            }
            $i++;
            $arg = '';
            while ($i < $n && $s[$i] !== '"') {
                if ($s[$i] === '\\') {
                    $c = $s[$i + 1];
                    $i += 2;
                    switch ($c) {
                        case 'n': $arg .= "\n"; break;
                        case 'r': $arg .= "\r"; break;
                        case 't': $arg .= "\t"; break;
                        case 'a': $arg .= "\x07"; break;
                        case 'b': $arg .= "\x08"; break;
                        case 'x': $arg .= chr(hexdec(substr($s, $i, 2))); $i += 2; break;
                        default:  $arg .= $c;
                    }
                    continue;
                }
                $arg .= $s[$i++];
            }
            $i++; // closing quote
            $args[] = $arg;
        }

        return $args;
    }
}
