<?php
/*
 * A ThinkPHP 6/8 app, unchanged except for `'type' => 'think\queue\native\connector\Redis'` on
 * its redis connection: producers use the think\facade\Queue facade and the queue() helper,
 * consumers are handler classes written as the think-queue documentation shows, processed by the
 * (stand-in) think-queue 3.x worker and queue:work command with their rules (spec §7.2): events,
 * tries/maxTries/timeoutAt, release with --delay, failed-job logging.
 */

declare(strict_types=1);

namespace tqn\tests\v3;

use app\job\Deadline;
use app\job\SendMail;
use think\facade\Queue;
use think\queue\command\Work;
use think\queue\command\WorkerStopped;
use think\queue\event\JobFailed;
use think\queue\exception\MaxAttemptsExceededException;
use think\queue\native\connector\Redis as NativeConnector;
use think\queue\native\job\Redis as RedisJob;
use tqn\tests\support\Recorder;

final class V3WorkerTest extends V3TestCase
{
    public function testDocumentedConsumerRunsThroughHelperAndWorkCommand(): void
    {
        queue('Hello', ['name' => 'thinkphp']);
        [$raw] = self::listed('{queues:default}');
        $id = json_decode($raw, true)['id'];

        $work = $this->app->make(Work::class);
        $work->execute(null, ['once' => true]); // php think queue:work --once

        $runs = Recorder::only('Hello::fire');
        $this->assertCount(1, $runs);
        $this->assertSame(['name' => 'thinkphp'], $runs[0]['data']);
        $this->assertSame(1, $runs[0]['attempts']);
        $this->assertSame('default', $runs[0]['queue']);
        $this->assertSame($raw, $runs[0]['raw']);
        $this->assertInstanceOf(RedisJob::class, $runs[0]['job']);
        $this->assertTrue($runs[0]['job']->isDeleted());
        $this->assertSame(["[$id] Processing: Hello", "[$id] Processed:  Hello"], $work->output);
        $this->assertSame(['JobProcessing', 'JobProcessed'], $this->eventNames());
        $this->assertSame('redis', $this->events()->triggered[0]->connection);
        $this->assertSame([], self::keys());
    }

    public function testHandlerNameForms(): void
    {
        Queue::push('send_sms', 'studly', 'forms');
        Queue::push('SendSms', 'short', 'forms');
        Queue::push('app\job\SendSms', 'qualified', 'forms');
        Queue::push('Hello@greet', 'method', 'forms');

        for ($i = 0; $i < 4; $i++) {
            $this->assertNotNull($this->work('forms'));
        }
        $this->assertSame(['studly', 'short', 'qualified'], array_column(Recorder::only('SendSms::fire'), 'data'));
        $this->assertSame(['method'], array_column(Recorder::only('Hello::greet'), 'data'));
        $this->assertSame([], $this->handle()->reported);
        $this->assertSame([], self::keys());
    }

    public function testMissingHandlerClassIsReleasedThenFailed(): void
    {
        Queue::push('NoSuchJob', 'x');
        $job = $this->work('default');
        $this->assertCount(1, $this->handle()->reported, 'the resolution error is reported');
        $this->assertTrue($job->isReleased());
        $this->assertCount(1, self::zset('{queues:default}:delayed'));

        $job = $this->work('default', 2);
        $this->assertTrue($job->hasFailed());
        $this->assertContains('JobFailed', $this->eventNames());
        $this->assertSame([], MemoryFailer::$logged, 'the failer only listens inside queue:work');
        $this->assertSame([], self::keys());
    }

    public function testObjectJobCarriesItsTriesAndTimeoutAndIsDeletedAfterHandle(): void
    {
        $id = Queue::push(new SendMail('x@y.z'));
        [$raw] = self::listed('{queues:default}');
        $payload = json_decode($raw, true);
        $this->assertSame(['job', 'maxTries', 'timeout', 'timeoutAt', 'data', 'id', 'attempts'], array_keys($payload));
        $this->assertSame('think\queue\CallQueuedHandler@call', $payload['job']);
        $this->assertSame([3, 20, null, $id, 0], [$payload['maxTries'], $payload['timeout'], $payload['timeoutAt'], $payload['id'], $payload['attempts']]);
        $this->assertSame(SendMail::class, $payload['data']['commandName']);
        $this->assertEquals(new SendMail('x@y.z'), unserialize($payload['data']['command']));

        $job = $this->work('default');
        $this->assertSame([['what' => 'SendMail::handle', 'to' => 'x@y.z']], Recorder::$log);
        $this->assertTrue($job->isDeleted());
        $this->assertSame(3, $job->maxTries());
        $this->assertSame(20, $job->timeout());
        $this->assertNull($job->timeoutAt());
        $this->assertSame([], self::keys());
    }

    public function testRetryUntilBecomesTimeoutAt(): void
    {
        $until = time() + 3600;
        Queue::push(new Deadline($until));
        $payload = json_decode(self::listed('{queues:default}')[0], true);
        $this->assertSame([null, null, $until], [$payload['maxTries'], $payload['timeout'], $payload['timeoutAt']]);

        $job = $this->work('default', 1);
        $this->assertSame($until, $job->timeoutAt());
        $this->assertSame(['Deadline::handle'], array_column(Recorder::$log, 'what'));
        $this->assertSame([], self::keys());
    }

    public function testTriesFailTheJobAtTheEndOfRunN(): void
    {
        $id = Queue::push('Flaky', ['order' => 7]);

        $first = $this->work('default', 2);
        $this->assertTrue($first->isReleased());
        $this->assertFalse($first->hasFailed());
        $delayed = array_keys(self::zset('{queues:default}:delayed'));
        $this->assertCount(1, $delayed);
        $this->assertSame(1, json_decode($delayed[0], true)['attempts'], 'the reserved copy (attempts + 1) is delayed');

        $second = $this->work('default', 2);
        $this->assertTrue($second->hasFailed());
        $this->assertTrue($second->isDeleted());
        $this->assertFalse($second->isReleased(), 'a failed job is not released');
        $this->assertSame([1, 2], array_column(Recorder::only('Flaky::fire'), 'attempts'));

        $failed = Recorder::only('Flaky::failed');
        $this->assertCount(1, $failed);
        $this->assertSame(['order' => 7], $failed[0]['data']);
        $this->assertSame(2, $failed[0]['args'], '3.x calls failed($data, $e)');
        $this->assertSame('flaky failed on attempt 2', $failed[0]['exception']->getMessage());

        $this->assertSame(
            ['JobProcessing', 'JobExceptionOccurred', 'JobProcessing', 'JobFailed', 'JobExceptionOccurred'],
            $this->eventNames()
        );
        $jobFailed = array_values(array_filter($this->events()->triggered, static fn ($e) => $e instanceof JobFailed))[0];
        $this->assertSame('redis', $jobFailed->connection);
        $this->assertSame($second, $jobFailed->job);

        $this->assertCount(2, $this->handle()->reported);
        $this->assertSame([], self::keys());
        $this->assertSame($id, $second->getJobId());
    }

    public function testTheWorkerRecordsProcessedReleasedAndFailedJobsInTheMetrics(): void
    {
        Queue::push('Hello', ['name' => 'metrics']);
        Queue::push('Flaky', ['order' => 8]);
        $this->assertFalse($this->work('default', 2)->hasFailed());
        $this->assertTrue($this->work('default', 2)->isReleased());
        $this->assertTrue($this->work('default', 2)->hasFailed());
        NativeConnector::flushAll(); // the tally otherwise rides with a later pop
        $totals = self::admin()->hGetAll('{queues:default}:metrics');
        $this->assertSame('1', $totals['p:Hello'] ?? null, json_encode($totals));
        $this->assertSame('1', $totals['r:Flaky'] ?? null, 'the first run of Flaky was released');
        $this->assertSame('1', $totals['f:Flaky'] ?? null, 'its second run failed (out of tries)');
        $this->assertSame('0', $totals['p:Flaky'] ?? '0', 'a failed job is not counted processed');
        $this->assertSame('1', $totals['wt:' . self::waitBucket($totals, 'Hello') . ':Hello'] ?? null,
            'a natively pushed job has a wait time');
        $minutes = self::admin()->keys('{queues:default}:metrics:*');
        $this->assertNotEmpty($minutes, 'the minute the jobs ended in (two across a minute boundary)');
        foreach ($minutes as $minute) {
            $this->assertGreaterThan(86000, self::admin()->ttl($minute), 'a minute hash expires by itself');
        }
    }

    /** The wait bucket recorded for $job (the one `wt:I:JOB` field), or -1. */
    private static function waitBucket(array $totals, string $job): int
    {
        foreach ($totals as $field => $n) {
            if (preg_match('/^wt:(\d+):' . preg_quote($job, '/') . '$/', (string) $field, $m)) {
                return (int) $m[1];
            }
        }

        return -1;
    }

    public function testFailedJobsAreLoggedByTheFailerUnderQueueWork(): void
    {
        Queue::push('Flaky', 'log me', 'failing');
        $work = $this->app->make(Work::class);
        $work->execute('redis', ['once' => true, 'queue' => 'failing', 'tries' => 1]);

        $this->assertCount(1, MemoryFailer::$logged);
        $log = MemoryFailer::$logged[0];
        $this->assertSame('redis', $log['connection']);
        $this->assertSame('failing', $log['queue']);
        $this->assertSame(0, json_decode($log['payload'], true)['attempts'], 'the raw body is logged (attempts not bumped)');
        $this->assertSame('log me', json_decode($log['payload'], true)['data']);
        $this->assertSame('flaky failed on attempt 1', $log['exception']->getMessage());
        $this->assertStringContainsString('Failed:', $work->output[1]);
        $this->assertSame([], self::keys());
    }

    public function testJobMaxTriesWinsOverTheTriesOption(): void
    {
        $mail = new SendMail('down@x.y');
        $mail->fail = true; // $tries = 3
        Queue::push($mail);

        for ($run = 1; $run <= 3; $run++) {
            $job = $this->work('default', 1);
            $this->assertSame($run, $job->attempts());
            $this->assertSame($run === 3, $job->hasFailed());
        }
        $this->assertSame(['SendMail::handle', 'SendMail::handle', 'SendMail::handle', 'SendMail::failed'], array_column(Recorder::$log, 'what'));
        $this->assertNull($this->work('default', 1));
        $this->assertSame([], self::keys());
    }

    public function testPassedTimeoutAtFailsTheJobWithoutRunningIt(): void
    {
        Queue::push(new Deadline(time() - 10));
        $job = $this->work('default');

        $this->assertTrue($job->hasFailed());
        $this->assertSame(['Deadline::failed'], array_column(Recorder::$log, 'what'));
        $this->assertCount(1, $this->handle()->reported);
        $e = $this->handle()->reported[0];
        $this->assertInstanceOf(MaxAttemptsExceededException::class, $e);
        $this->assertSame('think\queue\CallQueuedHandler@call has been attempted too many times or run too long. The job may have previously timed out.', $e->getMessage());
        $this->assertSame([], self::keys());
    }

    public function testDelayOptionAndPhpErrorsAreReleasedToo(): void
    {
        Queue::push('Broken', 'x');
        $job = $this->work('default', 0, 30);
        $this->assertTrue($job->isReleased(), '3.x catches Throwable');
        $this->assertInstanceOf(\TypeError::class, $this->handle()->reported[0]);
        $delayed = self::zset('{queues:default}:delayed');
        $this->assertEqualsWithDelta(time() + 30, reset($delayed), 2);
        $this->assertNull($this->work('default'), 'not due yet');
    }

    public function testHandlerReleases(): void
    {
        Queue::push('Again', ['until' => 3, 'delay' => 0]);
        $this->work();
        $this->work();
        $this->work();
        $released = Recorder::only('Again::release');
        $this->assertSame([1, 2], array_column($released, 'attempts'));
        $this->assertSame([true, true], array_column($released, 'released'));
        $this->assertSame([false, false], array_column($released, 'deleted'), '3.x release() only marks released');
        $this->assertSame([3], array_column(Recorder::only('Again::done'), 'attempts'));
        $this->assertSame([], self::keys());

        Queue::push('Again', ['until' => 5, 'delay' => 45]);
        $this->work();
        $delayed = self::zset('{queues:default}:delayed');
        $this->assertEqualsWithDelta(time() + 45, reset($delayed), 2);
        $this->assertNull($this->work());
    }

    public function testReleaseTakesDateTimeAndDateInterval(): void
    {
        $connection = $this->connection();
        foreach ([[new \DateTimeImmutable('+100 seconds'), 100], [new \DateInterval('PT50S'), 50], [7, 7]] as [$delay, $seconds]) {
            $connection->push('Lazy', $seconds, 'rel');
            $job = $connection->pop('rel');
            $job->release($delay);
            $delayed = self::zset('{queues:rel}:delayed');
            $this->assertCount(1, $delayed);
            $this->assertEqualsWithDelta(time() + $seconds, reset($delayed), 2);
            self::admin()->del('{queues:rel}:delayed');
        }
    }

    public function testJobProcessedIsReportedEvenWhenTheHandlerForgetsToDelete(): void
    {
        Queue::push('Lazy', 'x');
        $job = $this->work();
        $this->assertSame(['JobProcessing', 'JobProcessed'], $this->eventNames());
        $this->assertFalse($job->isDeletedOrReleased());
        $this->assertCount(1, self::zset('{queues:default}:reserved'));

        // its reservation expires: it comes back unchanged and runs as attempt 2
        [$member] = array_keys(self::zset('{queues:default}:reserved'));
        self::admin()->zAdd('{queues:default}:reserved', ['XX'], time() - 1, $member);
        $this->assertSame(2, $this->work()->attempts());
    }

    public function testCommaSeparatedQueuesArePolledInOrder(): void
    {
        Queue::push('Hello', 'b1', 'b');
        Queue::push('Hello', 'a1', 'a');
        Queue::push('Hello', 'b2', 'b');
        for ($i = 0; $i < 4; $i++) {
            $this->work('a,b');
        }
        $this->assertSame(['a1', 'b1', 'b2'], array_column(Recorder::only('Hello::fire'), 'data'));
        $this->assertSame(['a', 'b', 'b'], array_column(Recorder::only('Hello::fire'), 'queue'));
    }

    public function testDelayedPushesAndTheirScores(): void
    {
        $now = time();
        $ids = [
            Queue::later(60, 'Hello', 'seconds', 'd'),
            Queue::later(new \DateTimeImmutable('@' . ($now + 120)), 'Hello', 'datetime', 'd'),
            Queue::later(new \DateInterval('PT30S'), 'Hello', 'interval', 'd'),
            Queue::laterOn('d', 90, 'Hello', 'laterOn'),
            Queue::later(15, new SendMail('later@x.y'), '', 'd'),
        ];
        queue('Hello', 'helper', 45, 'd');
        foreach ($ids as $id) {
            self::assertId($id);
        }
        $scores = [];
        foreach (self::zset('{queues:d}:delayed') as $member => $score) {
            $payload = json_decode((string) $member, true);
            $scores[is_string($payload['data']) ? $payload['data'] : 'object'] = $score - $now;
        }
        ksort($scores);
        $expected = ['datetime' => 120, 'helper' => 45, 'interval' => 30, 'laterOn' => 90, 'object' => 15, 'seconds' => 60];
        foreach ($expected as $what => $delay) {
            $this->assertEqualsWithDelta($delay, $scores[$what], 2, $what);
        }
        $this->assertNull($this->work('d'));
        $this->assertSame(6, Queue::size('d'));
    }

    public function testPushOnBulkSizeAndPushRaw(): void
    {
        self::assertId(Queue::pushOn('b', 'Hello', 'pushOn'));
        $this->assertNull(Queue::bulk(['Hello', 'send_sms', new SendMail('bulk@x.y')], ['same' => 1], 'b'));
        $listed = self::listed('{queues:b}');
        $this->assertCount(4, $listed);
        $jobs = array_map(static fn ($raw) => json_decode($raw, true), $listed);
        $this->assertSame(['Hello', 'Hello', 'send_sms', 'think\queue\CallQueuedHandler@call'], array_column($jobs, 'job'));
        $this->assertSame(['same' => 1], $jobs[1]['data']);
        $this->assertSame(['same' => 1], $jobs[2]['data']);
        $this->assertSame(3, $jobs[3]['maxTries']);
        $this->assertCount(4, array_unique(array_column($jobs, 'id')));

        $this->assertSame('raw-id', Queue::pushRaw('{"job":"Hello","maxTries":null,"timeout":null,"data":"raw","id":"raw-id","attempts":0}', 'b'));
        $this->assertNull(Queue::pushRaw('{"job":"Hello","data":"no id","attempts":0}', 'b'));
        $this->assertSame(6, Queue::size('b'));
        $this->assertNotNull(Queue::pop('b'));
        $this->assertSame(6, Queue::size('b'), 'size counts reserved jobs too');
        $this->assertSame(0, Queue::size('nothing-here'));
    }

    public function testFalsyQueueNamesMeanTheConnectionsDefaultQueue(): void
    {
        foreach ([null, '', '0', 0, false] as $name) {
            Queue::push('Hello', var_export($name, true), $name);
        }
        $this->assertSame(['{queues:default}'], self::keys());
        $this->assertSame(5, Queue::size(false));
        Queue::laterOn(7, 0, 'Hello', 'int name'); // non-string names are used in their string form
        $this->assertSame(['{queues:7}:delayed', '{queues:default}'], self::keys());
        $seven = Queue::pop(7);
        $this->assertSame(7, $seven->getQueue(), '3.x keeps the argument as given');
        $seven->delete();
        foreach (['0', '', null, false, 0] as $name) {
            $job = Queue::pop($name);
            $this->assertSame($name, $job->getQueue(), '3.x keeps the argument as given');
            $job->delete();
        }
        $this->assertSame([], self::keys());
    }

    public function testHandWrittenPayloadWithoutAttemptsIsBuriedAndFailed(): void
    {
        // no `attempts`: malformed. Stock 3.x pops it and then fails on the missing "attempts":
        // the job is gone; the shim buries it in `<ready>:dead` and the worker fails it (see V3MalformedTest)
        Queue::pushRaw('{"job":"Plain","data":{"by":"hand"}}', 'raw');
        $job = $this->work('raw');
        $this->assertSame([], Recorder::only('Plain::fire'));
        $this->assertTrue($job->hasFailed());
        $this->assertContains('JobFailed', $this->eventNames());
        $this->assertSame(['{"job":"Plain","data":{"by":"hand"}}'], self::listed('{queues:raw}:dead'));
        $this->assertSame(['{queues:raw}:dead'], self::keys());

        Queue::pushRaw('{"job":"Plain","data":{"by":"hand"},"attempts":0}', 'raw2');
        $this->assertTrue($this->work('raw2')->isDeleted());
        $this->assertSame([['by' => 'hand']], array_column(Recorder::only('Plain::fire'), 'data'));
    }

    public function testJobApi(): void
    {
        $id = Queue::push('Lazy', ['k' => ['deep' => 'v']], 'api');
        $job = Queue::pop('api');

        $this->assertInstanceOf(RedisJob::class, $job);
        $this->assertSame($id, $job->getJobId());
        $this->assertSame('Lazy', $job->getName());
        $this->assertSame('api', $job->getQueue());
        $this->assertSame('redis', $job->getConnection());
        $this->assertSame(1, $job->attempts());
        $raw = '{"job":"Lazy","maxTries":null,"timeout":null,"data":{"k":{"deep":"v"}},"id":"' . $id . '","attempts":0}';
        $this->assertSame($raw, $job->getRawBody());
        $this->assertSame(substr($raw, 0, -2) . '1}', $job->getReservedJob());
        $this->assertSame(json_decode($raw, true), $job->payload());
        $this->assertSame('v', $job->payload('data.k.deep'));
        $this->assertSame('fallback', $job->payload('data.nope', 'fallback'));
        $this->assertNull($job->maxTries());
        $this->assertNull($job->timeout());
        $this->assertNull($job->timeoutAt());
        $this->assertFalse($job->hasFailed());
        $job->markAsFailed();
        $this->assertTrue($job->hasFailed());
        $this->assertFalse($job->isDeletedOrReleased());
        $job->delete();
        $this->assertTrue($job->isDeleted());
        $this->assertFalse($job->isReleased());
        $this->assertSame([], self::keys());
    }

    public function testManagerBuildsTheNativeConnectorThroughMake(): void
    {
        $redis = $this->connection('redis');
        $this->assertInstanceOf(NativeConnector::class, $redis);
        $this->assertInstanceOf(\think\queue\Connector::class, $redis);
        $this->assertSame('redis', $redis->getConnection());
        $this->assertSame('v3', $redis->getDialect());
        $this->assertSame($redis, $this->connection(), 'the default connection, cached');
        $this->assertSame('v3', NativeConnector::installedGeneration());
    }

    public function testSecondConnectionWithItsOwnDefaultQueueAndDatabase(): void
    {
        $config = static::queueConfig();
        $config['connections']['fast'] = ['queue' => 'fast-default', 'select' => 2] + $config['connections']['redis'];
        $this->app->make('config')->set($config, 'queue');

        Queue::connection('fast')->push('Hello', 'to fast');
        $this->assertSame(['{queues:fast-default}'], self::keys(2));
        $this->assertSame([], self::keys(0));

        $this->work('fast-default', 0, 0, 'fast');
        $run = Recorder::only('Hello::fire')[0];
        $this->assertSame('to fast', $run['data']);
        $this->assertSame('fast', $run['job']->getConnection());
        $this->assertSame([], self::keys(2));
    }

    public function testThreeXConfigKeysAreTheOnesRead(): void
    {
        // retry_after (null means 60, as stock's `?? 60`), queue; `expire`/`default` mean nothing to 3.x.
        foreach ([[['retry_after' => 5, 'expire' => 999], 5], [['retry_after' => null], 60], [['expire' => 1], 60]] as [$overrides, $seconds]) {
            self::admin()->flushAll();
            $queue = NativeConnector::__make(self::connectionConfig($overrides + ['default' => 'not-this']));
            $queue->push('Hello', 'x');
            $this->assertSame(['{queues:default}'], self::keys());
            $queue->pop();
            $reserved = self::zset('{queues:default}:reserved');
            $this->assertEqualsWithDelta(time() + $seconds, reset($reserved), 2, json_encode($overrides));
        }
    }

    public function testBlockForWaitsForAJobAndWakesOnAPush(): void
    {
        $queue = NativeConnector::__make(self::connectionConfig(['block_for' => 1]));
        $started = microtime(true);
        $this->assertNull($queue->pop('empty'));
        $waited = microtime(true) - $started;
        $this->assertGreaterThan(0.9, $waited, 'block_for 1: an empty pop waits about a second');
        $this->assertLessThan(2.5, $waited);

        // a forked producer (a stock one: a plain RPUSH of stock bytes) pushes while we wait
        $queue = NativeConnector::__make(self::connectionConfig(['block_for' => 10]));
        $raw = '{"job":"app\\job\\Hello","maxTries":null,"timeout":null,"data":"woken","id":"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef","attempts":0}';
        $pid = pcntl_fork();
        if ($pid === 0) {
            usleep(300000);
            $r = new \Redis();
            $r->connect('127.0.0.1', TQN_REDIS_PORT);
            $r->rPush('{queues:blocking}', $raw);
            posix_kill(getmypid(), SIGKILL); // no shutdown functions in the child
        }
        $started = microtime(true);
        $job = $queue->pop('blocking');
        $waited = microtime(true) - $started;
        pcntl_waitpid($pid, $status);
        $this->assertNotNull($job, 'woken by the push');
        $this->assertSame($raw, $job->getRawBody());
        $this->assertSame(1, $job->attempts());
        $this->assertLessThan(2.0, $waited, 'woke on the push, not at the end of block_for');
        $this->assertSame([], self::listed('{queues:blocking}'));
        $this->assertCount(1, self::zset('{queues:blocking}:reserved'), 'reserved in the same step: nothing in flight');
    }

    public function testBlockForLongerThanTheDefaultSocketTimeoutIsNotAReadError(): void
    {
        $old = ini_set('default_socket_timeout', '1');
        try {
            $queue = NativeConnector::__make(self::connectionConfig(['block_for' => 2]));
            $this->assertNull($queue->pop('empty'));
        } finally {
            ini_set('default_socket_timeout', (string) $old);
        }
    }

    public function testDaemonProcessesEverythingThenStopsOnRestart(): void
    {
        foreach (['one', 'two', 'three'] as $data) {
            Queue::push('Hello', $data, 'daemon');
        }
        Queue::push('Flaky', 'boom', 'daemon');
        $this->app->bind(\think\queue\Worker::class, StopWhenIdleWorker::class);

        $work = $this->app->make(Work::class);
        try {
            $work->execute('redis', ['queue' => 'daemon', 'sleep' => 0, 'tries' => 1]);
            $this->fail('the daemon only ends through stop()');
        } catch (WorkerStopped $e) {
            $this->assertSame(0, $e->getCode());
        }
        $this->assertSame(['one', 'two', 'three'], array_column(Recorder::only('Hello::fire'), 'data'));
        $this->assertCount(1, Recorder::only('Flaky::failed'));
        $this->assertCount(1, MemoryFailer::$logged);
        $this->assertSame('WorkerStopping', $this->eventNames()[count($this->eventNames()) - 1]);
        $this->assertSame([], self::keys());
    }

    public function testLeaseKeepsALongJobFromASecondWorker(): void
    {
        $leased = NativeConnector::__make(self::connectionConfig(['retry_after' => 1, 'lease' => true]));
        $other  = NativeConnector::__make(self::connectionConfig(['retry_after' => 1]));
        $leased->push('Hello', 'long', 'leased');
        $job = $leased->pop('leased');
        $this->assertNotNull($job);
        usleep(2600000); // the job runs 2.6 x retry_after
        $this->assertNull($other->pop('leased'), 'still reserved by its running worker');
        $job->delete();
        usleep(1200000);
        $this->assertSame([], self::zset('{queues:leased}:reserved'), 'the lease never re-adds a deleted job');

        // without a lease: stock behaviour, the second worker gets it
        $plain = NativeConnector::__make(self::connectionConfig(['retry_after' => 1]));
        $plain->push('Hello', 'long', 'unleased');
        $this->assertNotNull($plain->pop('unleased'));
        usleep(2200000);
        $this->assertNotNull($other->pop('unleased'), 'handed out twice without a lease');
    }
}
