<?php
/*
 * The mixed-deployment cases, shared by both generations' suites (each suite's test class uses
 * this trait and implements the hooks at the bottom with its think-queue stand-ins):
 *  - a Rust producer (typed serde data, examples/producer.rs) and `tqn push` feed the PHP worker:
 *    the PHP job class receives exactly the PHP value, and the stored bytes are what PHP's own
 *    producer writes for it;
 *  - PHP producers (facade, helper) feed the Rust worker (examples/worker.rs), which sees the data
 *    as the PHP handler would;
 *  - a Rust worker and PHP workers (forked processes) drain one queue fed by both producers: each
 *    job runs exactly once;
 *  - attempts carry over between the runtimes, and the tries rules agree;
 *  - tqn reads the app's think-queue config file.
 */

declare(strict_types=1);

namespace tqn\tests\mixed;

use tqn\tests\support\Recorder;

trait MixedCases
{
    /** The order the Rust producer pushes first, as a PHP array (see examples/producer.rs). */
    private static function order(): array
    {
        return [
            'id'       => 1001,
            'sku'      => 'A-1/B',
            'qty'      => 2,
            'price'    => 9.9,
            'total'    => 19.8,
            'paid'     => true,
            'note'     => null,
            'tags'     => [],
            'meta'     => [],
            'address'  => ['city' => '上海', 'line' => '"No. 1" <Road>'],
            'shipping' => ['Express' => ['days' => 2]],
            'levels'   => [1 => 'gold', 2 => 'silver'],
        ];
    }

    private static function idOf(array $recorded): string
    {
        return json_decode($recorded['raw'], true)['id'];
    }

    public function testRustProducerFeedsThePhpWorker(): void
    {
        [$code, $out, $err] = Rust::run([Rust::path('examples/producer'), Rust::url(), static::dialect(), 'rust2php']);
        $this->assertSame(0, $code, $err);
        $pushed = array_map(static fn (string $l) => explode(' ', $l, 3), explode("\n", trim($out)));
        $this->assertCount(3, $pushed);

        $this->assertSame(3, $this->drain('rust2php'));
        $fire  = Recorder::only('Hello::fire');
        $greet = Recorder::only('Hello::greet');
        $this->assertCount(2, $fire);
        $this->assertCount(1, $greet);
        // the PHP handler receives exactly the PHP value of the Rust data
        $this->assertSame(self::order(), $fire[0]['data']);
        $this->assertSame(['hi', 2, [0.5, 1.0E20]], $greet[0]['data']);
        $this->assertSame('later', $fire[1]['data']);
        // ... in payload bytes identical to what PHP's own producer writes for that value
        $this->assertSame(json_encode(self::order()), $pushed[0][2]);
        $this->assertSame(static::payloadFor('app\job\Hello', self::order(), $pushed[0][0]), $fire[0]['raw']);
        $this->assertSame(static::payloadFor('app\job\Hello@greet', ['hi', 2, [0.5, 1.0E20]], $pushed[1][0]), $greet[0]['raw']);
        $this->assertSame(static::payloadFor('app\job\Hello', 'later', $pushed[2][0]), $fire[1]['raw']);
        $this->assertSame([1, 1, 1], array_column(array_merge($fire, $greet), 'attempts'));
        $this->assertSame([], self::keys());
    }

    public function testTqnPushFeedsThePhpWorker(): void
    {
        $json = '{"a":[1,{"b":null}],"e":{},"s":"x/y","f":1.50,"zh":"\u4e2d"}';
        [$code, $out, $err] = Rust::run([Rust::path('tqn'), '--url', Rust::url(), '--dialect', static::dialect(), '--json',
            'push', 'tqn2php', 'app\job\Hello', '--data', $json]);
        $this->assertSame(0, $code, $err);
        $id = json_decode($out, true)['ids'][0];
        [$code, , $err] = Rust::run([Rust::path('tqn'), '--url', Rust::url(), '--dialect', static::dialect(),
            'push', 'tqn2php', 'Hello@greet', '--data', '"hi"', '--delay', '0']);
        $this->assertSame(0, $code, $err);

        $this->assertSame(2, $this->drain('tqn2php'));
        [$fire] = Recorder::only('Hello::fire');
        [$greet] = Recorder::only('Hello::greet');
        $this->assertSame(json_decode($json, true), $fire['data'], 'what json_decode($data, true) gives');
        $this->assertSame(static::payloadFor('app\job\Hello', json_decode($json, true), $id), $fire['raw']);
        $this->assertSame('hi', $greet['data']);
        $this->assertSame('Hello@greet', $greet['name']);
        $this->assertSame([], self::keys());
    }

    public function testPhpProducersFeedTheRustWorker(): void
    {
        $data = [
            'mobile' => '13800000000',
            'zh'     => '中文',
            'obj'    => new \stdClass(),
            'list'   => [1, 2.5, -0.0, 1e20],
            'map'    => [1 => 'a', 2 => 'b'],
            'null'   => null,
            'q'      => "\"'<>&\t/",
        ];
        $ids   = [];
        $ids[] = $this->phpPush('Hello', $data, 'php2rust');              // the short name think-queue resolves
        $ids[] = $this->phpPush('app\job\Hello@greet', 'greetings', 'php2rust');
        queue('Hello', ['via' => 'helper'], 0, 'php2rust');               // the queue() helper
        $raws = self::listed(static::readyKey('php2rust'));
        $this->assertCount(3, $raws);

        [$code, $out, $err] = Rust::run([Rust::path('examples/worker'), Rust::url(), static::dialect(), 'php2rust']);
        $this->assertSame(0, $code, $err);
        $lines = Rust::lines($out);
        $fires = array_values(array_filter($lines, static fn (array $l) => $l['event'] === 'fire'));
        $this->assertCount(3, $fires, $out);
        foreach ($fires as $i => $fire) {
            // the Rust handler sees the data a PHP handler would: json_decode($payload, true)['data']
            $this->assertSame(json_decode($raws[$i], true)['data'], $fire['data'], "job $i");
            $this->assertSame(json_decode($raws[$i], true)['id'], $fire['id']);
            $this->assertSame(1, $fire['attempts']);
            $this->assertSame('php2rust', $fire['queue']);
        }
        $this->assertSame(array_slice($ids, 0, 2), array_slice(array_column($fires, 'id'), 0, 2));
        $this->assertSame(['Hello', 'app\job\Hello@greet', 'Hello'], array_column($fires, 'name'));
        $this->assertSame(['13800000000', [], ['a', 'b']], [$fires[0]['data']['mobile'], $fires[0]['data']['obj'], array_values($fires[0]['data']['map'])]);
        $done = end($lines);
        $this->assertSame(['event' => 'done', 'processed' => 3, 'released' => 0, 'failed' => 0, 'buried' => 0, 'errors' => 0], $done);
        $this->assertSame([], self::keys());
    }

    public function testRustAndPhpWorkersShareAQueueAndRunEachJobOnce(): void
    {
        $queue = 'shared';
        $rust  = Rust::start([Rust::path('examples/worker'), Rust::url(), static::dialect(), $queue, '--threads', '2', '--daemon']);
        $files = [];
        $pids  = [];
        for ($w = 0; $w < 2; $w++) {
            $file = (string) tempnam(sys_get_temp_dir(), 'tqn-mixed-php-');
            $pid  = pcntl_fork();
            if ($pid === 0) {
                $this->phpWorkerUntilDone($queue, $file);
            }
            $pids[]  = $pid;
            $files[] = $file;
        }
        try {
            // producers of both kinds, interleaved, while the three workers run
            $ids = [];
            for ($round = 0; $round < 5; $round++) {
                for ($i = 0; $i < 60; $i++) {
                    $ids[] = $this->phpPush('app\job\Hello', ['n' => $round * 60 + $i, 'from' => 'php'], $queue);
                }
                [$code, $out, $err] = Rust::run([Rust::path('examples/producer'), Rust::url(), static::dialect(), $queue, '60']);
                $this->assertSame(0, $code, $err);
                $ids = array_merge($ids, explode("\n", trim($out)));
            }
        } finally {
            self::admin()->set('tqn-mixed-pushed', '1'); // the PHP workers stop once the queue is empty
            foreach ($pids as $pid) {
                pcntl_waitpid($pid, $status);
            }
        }
        try {
            $this->waitUntilEmpty($queue);
        } finally {
            $rust->term(); // graceful: finishes what it runs, prints its summary
        }
        [$code, $out, $err] = $rust->wait();
        $this->assertSame(0, $code, $err);

        $lines   = Rust::lines($out);
        $rustIds = array_column(array_filter($lines, static fn (array $l) => $l['event'] === 'fire'), 'id');
        $phpIds  = [];
        foreach ($files as $file) {
            $phpIds = array_merge($phpIds, json_decode((string) file_get_contents($file), true) ?? ['(a PHP worker died)']);
            @unlink($file);
        }
        $all = array_merge($rustIds, $phpIds);
        sort($all);
        sort($ids);
        $this->assertCount(600, $ids);
        $this->assertSame($ids, $all, 'every job ran exactly once, in one runtime or the other');
        $this->assertNotEmpty($rustIds, 'the Rust worker took a share');
        $this->assertNotEmpty($phpIds, 'the PHP workers took a share');
        $done = end($lines);
        $this->assertSame(['done', count($rustIds), 0], [$done['event'], $done['processed'], $done['errors']]);
        $this->assertSame(['tqn-mixed-pushed'], self::keys());
    }

    /** A forked PHP worker: works the queue until the producers are done and it is empty; writes the ids it ran to $file. */
    private function phpWorkerUntilDone(string $queue, string $file): void
    {
        try {
            Recorder::reset();
            $deadline = microtime(true) + 60;
            while (microtime(true) < $deadline) {
                $before = count(Recorder::only('Hello::fire'));
                $this->workOnce($queue);
                if (count(Recorder::only('Hello::fire')) === $before) {
                    if (self::admin()->exists('tqn-mixed-pushed') && $this->remaining($queue) === 0) {
                        break;
                    }
                    usleep(2000);
                }
            }
            file_put_contents($file, json_encode(array_map([self::class, 'idOf'], Recorder::only('Hello::fire'))));
        } finally {
            posix_kill(getmypid(), SIGKILL); // no PHPUnit teardown, no shutdown functions in the child
        }
    }

    private function remaining(string $queue): int
    {
        $ready = static::readyKey($queue);

        return self::admin()->lLen($ready) + self::admin()->zCard("$ready:delayed") + self::admin()->zCard("$ready:reserved");
    }

    private function waitUntilEmpty(string $queue): void
    {
        $deadline = microtime(true) + 30;
        while ($this->remaining($queue) > 0) {
            $this->assertLessThan($deadline, microtime(true), "queue $queue did not drain");
            usleep(10000);
        }
    }

    public function testAttemptsCarryOverBetweenRuntimes(): void
    {
        // Rust runs attempt 1 and releases it; PHP (--tries 2) runs attempt 2, then fails it
        $this->phpPush('app\job\Flaky', ['until' => 99], 'carry');
        [$code, $out, $err] = Rust::run([Rust::path('examples/worker'), Rust::url(), static::dialect(), 'carry', '--max-jobs', '1']);
        $this->assertSame(0, $code, $err);
        $lines = Rust::lines($out);
        $this->assertSame([1, 'app\job\Flaky'], [$lines[0]['attempts'], $lines[0]['name']]);
        $this->assertSame(1, end($lines)['released']);
        $this->drain('carry', 2);
        $this->assertSame([2], array_column(Recorder::only('Flaky::fire'), 'attempts'));
        $failed = Recorder::only('Flaky::failed');
        $this->assertCount(1, $failed);
        $this->assertSame(['until' => 99], $failed[0]['data']);
        $this->assertSame([], self::keys());

        // PHP runs attempt 1 and releases it; Rust runs attempt 2 (its handler succeeds from attempt 2)
        Recorder::reset();
        $id = $this->phpPush('app\job\Flaky', ['until' => 2], 'carry');
        $this->workOnce('carry');
        $this->assertSame([1], array_column(Recorder::only('Flaky::fire'), 'attempts'));
        [$code, $out, $err] = Rust::run([Rust::path('examples/worker'), Rust::url(), static::dialect(), 'carry', '--tries', '3']);
        $this->assertSame(0, $code, $err);
        $lines = Rust::lines($out);
        $this->assertSame(['fire', 2, $id], [$lines[0]['event'], $lines[0]['attempts'], $lines[0]['id']]);
        $this->assertSame(1, end($lines)['processed']);
        $this->assertSame([], self::keys());
    }

    public function testRustWorkerFailsWithTheGenerationsTriesRule(): void
    {
        $id = $this->phpPush('app\job\Flaky', ['until' => 99], 'tries');
        [$code, $out, $err] = Rust::run([Rust::path('examples/worker'), Rust::url(), static::dialect(), 'tries', '--tries', '2']);
        $this->assertSame(0, $code, $err);
        $lines = Rust::lines($out);
        $events = array_map(static fn (array $l) => $l['event'] . ':' . ($l['attempts'] ?? ''), $lines);
        // v1: runs twice, failed on pop 3 (attempts 3); v3: failed at the end of run 2
        $expected = static::dialect() === 'v1' ? ['fire:1', 'fire:2', 'failed:3', 'done:'] : ['fire:1', 'fire:2', 'failed:2', 'done:'];
        $this->assertSame($expected, $events);
        $this->assertSame($id, $lines[2]['id']);
        $this->assertSame([], self::keys());
    }

    public function testTqnReadsTheAppsThinkQueueConfigFile(): void
    {
        $dir  = sys_get_temp_dir() . '/tqn-mixed-config-' . getmypid();
        @mkdir($dir);
        $file = static::writeConfigFile($dir, 'fromconfig');
        try {
            $env = ['PHP_REDIS_PORT' => (string) TQN_REDIS_PORT];
            [$code, $out, $err] = Rust::run([Rust::path('tqn'), '--config', $file, '--json', 'push', '', 'app\job\Hello', '--data', '{"via":"config"}'], null, $env);
            $this->assertSame(0, $code, $err);
            $pushed = json_decode($out, true);
            $this->assertSame(['fromconfig', static::dialect(), static::readyKey('fromconfig')], [$pushed['queue'], $pushed['dialect'], $pushed['key']]);
            [$code, $out, $err] = Rust::run([Rust::path('tqn'), '-c', $file, '--json', 'stats'], null, $env);
            $this->assertSame(0, $code, $err);
            $stats = json_decode($out, true);
            $this->assertSame([['fromconfig', static::dialect(), 1]], array_map(static fn (array $r) => [$r['queue'], $r['dialect'], $r['ready']], $stats));

            $this->assertSame(1, $this->drain('fromconfig'));
            $this->assertSame([['via' => 'config']], array_column(Recorder::only('Hello::fire'), 'data'));
        } finally {
            @unlink($file);
            @rmdir($dir);
        }
    }

    /**
     * One config file, two readers: the shim connector (built as think-queue builds it) and
     * `tqn --config FILE config` must resolve it to the same options. Only the timeouts may differ,
     * and only where the config sets none: tqn then bounds its own waits (5 s connect, 30 s read).
     */
    public function testTheShimAndTqnReadAConfigFileAlike(): void
    {
        require_once __DIR__ . '/env.php';
        $dir = sys_get_temp_dir() . '/tqn-mixed-options-' . getmypid();
        @mkdir($dir);
        try {
            foreach (static::configVariants() as $what => $overrides) {
                $file = static::writeConfigFile($dir, 'same', $overrides);
                $env = ['PHP_REDIS_PORT' => (string) TQN_REDIS_PORT];
                putenv('PHP_REDIS_PORT=' . TQN_REDIS_PORT);
                try {
                    $shim = static::connectorFromConfig(include $file)->getRedisQueue()->options();
                } finally {
                    putenv('PHP_REDIS_PORT');
                }
                [$code, $out, $err] = Rust::run([Rust::path('tqn'), '--config', $file, '--json', 'config'], null, $env);
                $this->assertSame(0, $code, "$what: $err");
                $tqn = json_decode($out, true, 512, JSON_THROW_ON_ERROR);
                foreach (['timeout', 'read_timeout'] as $key) {
                    if ($shim[$key] == 0) {
                        unset($shim[$key], $tqn[$key]);
                    }
                }
                $this->assertEquals($shim, $tqn, $what);
                $this->assertSame(array_keys($shim), array_keys($tqn), $what);
            }
            // the defect this test was written for: a 3.x config with `retry_after => null` meant
            // 60 s to the shim's workers and "never expires" to tqn retry/migrate
            $expected = static::dialect() === 'v3' ? 60 : null;
            $first = array_values(static::configVariants())[0];
            $file = static::writeConfigFile($dir, 'same', $first);
            [, $out] = Rust::run([Rust::path('tqn'), '--config', $file, '--json', 'config'], null, ['PHP_REDIS_PORT' => (string) TQN_REDIS_PORT]);
            $this->assertSame($expected, json_decode($out, true)['retry_after']);
        } finally {
            @unlink("$dir/queue.php");
            @rmdir($dir);
        }
    }

    /** 'v1' or 'v3'. */
    abstract protected static function dialect(): string;

    /** The ready list's key of a queue. */
    abstract protected static function readyKey(string $queue): string;

    /** The payload bytes PHP's stock producer writes for this job. */
    abstract protected static function payloadFor(string $job, $data, string $id): string;

    /** Writes a think-queue config file (this generation's shape) whose default queue is $queue, with $overrides in its Redis connection; the port comes from env('redis.port'). */
    abstract protected static function writeConfigFile(string $dir, string $queue, array $overrides = []): string;

    /** The shim connector built from a whole config array (the file's), as this generation's think-queue builds it. */
    abstract protected static function connectorFromConfig(array $config): \think\queue\native\connector\Redis;

    /** @return array<string, array> config overrides to read both ways, by description; the first sets the reservation timeout to null */
    abstract protected static function configVariants(): array;

    /** Pushes through the app's queue facade; returns the id. */
    abstract protected function phpPush(string $job, $data, string $queue): ?string;

    /** One `queue:work --once` style round of the PHP worker (handler exceptions are reported, not thrown). */
    abstract protected function workOnce(string $queue, int $tries = 0): void;

    /** Runs the PHP worker until the queue has nothing ready; returns how many jobs it took. */
    abstract protected function drain(string $queue, int $tries = 0): int;
}
