<?php
/*
 * A ThinkPHP 5 app, unchanged except for `'connector' => 'think\queue\native\connector\Redis'`:
 * producers use the think\Queue facade and the queue() helper, consumers are handler classes
 * written as the think-queue documentation shows, processed by the (stand-in) think-queue 1.x
 * worker with its rules (spec §7.1).
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use app\job\Hello;
use app\job\SendMail;
use think\Cache;
use think\exception\Handle;
use think\Hook;
use think\Queue;
use think\queue\command\Work;
use think\queue\command\WorkerStopped;
use think\queue\native\job\Redis as RedisJob;
use tqn\tests\support\Recorder;

final class V1WorkerTest extends V1TestCase
{
    public function testDocumentedConsumerRunsThroughHelperAndWorkCommand(): void
    {
        queue('Hello', ['name' => 'thinkphp']);
        [$raw] = self::listed('queues:default');

        $work = new Work();
        $work->execute(); // php think queue:work (no --queue: Queue::pop() of the default queue)

        $runs = Recorder::only('Hello::fire');
        $this->assertCount(1, $runs);
        $this->assertSame(['name' => 'thinkphp'], $runs[0]['data']);
        $this->assertSame(1, $runs[0]['attempts']);
        $this->assertSame('default', $runs[0]['queue']);
        $this->assertSame($raw, $runs[0]['raw']);
        $this->assertSame('Hello', $runs[0]['name']);
        $this->assertInstanceOf(RedisJob::class, $runs[0]['job']);
        $this->assertTrue($runs[0]['job']->isDeleted());
        $this->assertFalse($runs[0]['job']->isReleased());
        $this->assertSame(['Processed: Hello'], $work->output);
        $this->assertSame([['worker_before_process', null]], Hook::$fired);
        $this->assertSame([], self::keys(), 'deleted: nothing left in Redis');
    }

    public function testHandlerNameForms(): void
    {
        Queue::push('Hello@greet', 'method', 'forms');
        Queue::push('Index/Report', 'module', 'forms');
        Queue::push('app\job\SendSms', 'qualified', 'forms');
        Queue::push('SendSms', 'short', 'forms');

        for ($i = 0; $i < 4; $i++) {
            $this->assertFalse(self::work('forms')['failed']);
        }
        $this->assertSame(['method'], array_column(Recorder::only('Hello::greet'), 'data'));
        $this->assertSame(['module'], array_column(Recorder::only('Report::fire'), 'data'));
        $this->assertSame(['qualified', 'short'], array_column(Recorder::only('SendSms::fire'), 'data'));
        $this->assertSame([], self::keys());
    }

    public function testMissingHandlerClassIsASilentNoOpAsInStock(): void
    {
        Queue::push('NoSuchJob', ['x' => 1]);
        $result = self::work('default');

        $this->assertFalse($result['failed']);
        $this->assertFalse($result['job']->isDeletedOrReleased());
        $this->assertSame([], self::listed('queues:default'));
        $this->assertCount(1, self::zset('queues:default:reserved'), 'stays reserved until it expires');
    }

    public function testObjectJobRunsThroughCallQueuedHandlerAndIsDeleted(): void
    {
        $id = Queue::push(new SendMail('x@y.z'));
        self::assertId($id);
        [$raw] = self::listed('queues:default');
        $payload = json_decode($raw, true);
        $this->assertSame('think\queue\CallQueuedHandler@call', $payload['job']);
        $this->assertSame(SendMail::class, $payload['data']['commandName']);
        $this->assertEquals(new SendMail('x@y.z'), unserialize($payload['data']['command']));
        $this->assertSame(['job', 'data', 'id', 'attempts'], array_keys($payload), '1.x payloads have no maxTries/timeout');

        $result = self::work('default');
        $this->assertFalse($result['failed']);
        $this->assertSame([['what' => 'SendMail::handle', 'to' => 'x@y.z']], Recorder::$log);
        $this->assertTrue($result['job']->isDeleted());
        $this->assertSame([], self::keys());
    }

    public function testTriesFailTheJobOnPopNPlusOneWithFailedHandlerAndHook(): void
    {
        $failedJobs = [];
        Hook::add('queue_failed', static function ($job) use (&$failedJobs) {
            $failedJobs[] = $job;
        });
        Queue::push('Flaky', ['order' => 7]);

        for ($run = 1; $run <= 2; $run++) {
            try {
                self::work('default', 2);
                $this->fail('the handler exception is rethrown');
            } catch (\RuntimeException $e) {
                $this->assertSame("flaky failed on attempt $run", $e->getMessage());
            }
            $delayed = array_keys(self::zset('queues:default:delayed'));
            $this->assertCount(1, $delayed, 'released with --delay 0');
            $this->assertSame($run + 1, json_decode($delayed[0], true)['attempts']);
            $this->assertSame([], self::zset('queues:default:reserved'));
        }
        $result = self::work('default', 2); // pop 3: attempts 3 > 2: failed without running

        $this->assertTrue($result['failed']);
        $this->assertSame([1, 2], array_column(Recorder::only('Flaky::fire'), 'attempts'));
        $failed = Recorder::only('Flaky::failed');
        $this->assertCount(1, $failed);
        $this->assertSame(['order' => 7], $failed[0]['data']);
        $this->assertSame(1, $failed[0]['args'], '1.x calls failed($data)');
        $this->assertSame([$result['job']], $failedJobs);
        $this->assertTrue($result['job']->isDeleted());
        $this->assertSame([], self::keys());
    }

    public function testFailedObjectJobCallsTheCommandsFailed(): void
    {
        $mail = new SendMail('down@x.y');
        $mail->fail = true;
        Queue::push($mail);

        try {
            self::work('default', 1);
            $this->fail('expected the handler exception');
        } catch (\RuntimeException $e) {
            $this->assertSame('mail server down', $e->getMessage());
        }
        $this->assertTrue(self::work('default', 1)['failed']);
        $this->assertSame(['SendMail::handle', 'SendMail::failed'], array_column(Recorder::$log, 'what'));
        $this->assertSame([], self::keys());
    }

    public function testDelayOptionPostponesTheRetry(): void
    {
        Queue::push('Flaky', 'later please');
        try {
            self::work('default', 0, 30);
        } catch (\RuntimeException $e) {
        }
        $delayed = self::zset('queues:default:delayed');
        $this->assertCount(1, $delayed);
        $this->assertEqualsWithDelta(time() + 30, reset($delayed), 2);
        $this->assertNull(self::work('default')['job'], 'not due yet');
    }

    public function testHandlerReleasesWithAndWithoutDelay(): void
    {
        Queue::push('Again', ['until' => 3, 'delay' => 0]);
        self::work('default');
        self::work('default');
        self::work('default');

        $released = Recorder::only('Again::release');
        $this->assertSame([1, 2], array_column($released, 'attempts'));
        $this->assertSame([true, true], array_column($released, 'released'));
        $this->assertSame([true, true], array_column($released, 'deleted'), '1.x release() marks the job deleted');
        $this->assertSame([3], array_column(Recorder::only('Again::done'), 'attempts'));
        $this->assertSame([], self::keys());

        Queue::push('Again', ['until' => 5, 'delay' => 45]);
        self::work('default');
        $delayed = self::zset('queues:default:delayed');
        $this->assertEqualsWithDelta(time() + 45, reset($delayed), 2);
        $this->assertSame(2, json_decode((string) key($delayed), true)['attempts']);
        $this->assertNull(self::work('default')['job']);
    }

    public function testCommaSeparatedQueuesArePolledInOrder(): void
    {
        Queue::push('Hello', 'b1', 'b');
        Queue::push('Hello', 'a1', 'a');
        Queue::push('Hello', 'b2', 'b');

        $work = new Work();
        for ($i = 0; $i < 4; $i++) {
            $work->execute(['queue' => 'a,b', 'sleep' => 0]);
        }
        $this->assertSame(['a1', 'b1', 'b2'], array_column(Recorder::only('Hello::fire'), 'data'));
        $this->assertSame(['a', 'b', 'b'], array_column(Recorder::only('Hello::fire'), 'queue'));
        $this->assertSame(['worker_before_process', 'worker_before_process', 'worker_before_process', 'worker_before_sleep'],
            array_column(Hook::$fired, 0));
    }

    public function testDelayedJobsWaitUntilDue(): void
    {
        $id = Queue::later(60, 'Hello', 'in a minute');
        self::assertId($id); // stock 1.x returns null here
        queue('Hello', 'via helper', 60);
        $delayed = self::zset('queues:default:delayed');
        $this->assertCount(2, $delayed);
        foreach ($delayed as $score) {
            $this->assertEqualsWithDelta(time() + 60, $score, 2);
        }
        $this->assertNull(self::work('default')['job']);

        foreach (array_keys($delayed) as $member) {
            self::admin()->zAdd('queues:default:delayed', ['XX'], time() - 1, $member);
        }
        self::work('default');
        self::work('default');
        $this->assertEqualsCanonicalizing(['in a minute', 'via helper'], array_column(Recorder::only('Hello::fire'), 'data'));
        $this->assertSame([], self::keys());
    }

    public function testFalsyQueueNamesMeanTheDefaultQueue(): void
    {
        foreach ([null, '', '0', 0, false] as $name) {
            Queue::push('Hello', var_export($name, true), $name);
        }
        $this->assertSame(['queues:default'], self::keys());
        $this->assertCount(5, self::listed('queues:default'));

        foreach (['0', '', null, false, 0] as $name) {
            $job = Queue::pop($name);
            $this->assertSame('default', $job->getQueue());
            $job->delete();
        }
        $this->assertSame([], self::keys());

        Queue::push('Hello', 'int name', 7); // non-string names are used in their string form
        $this->assertSame(['queues:7'], self::keys());
        $seven = Queue::pop(7);
        $this->assertSame('7', $seven->getQueue());
        $seven->delete();
        $this->assertSame([], self::keys());
    }

    public function testPhpErrorsEscapeTheWorkerAndLeaveTheJobReserved(): void
    {
        Queue::push('Broken');
        try {
            self::work('default');
            $this->fail('expected a TypeError');
        } catch (\TypeError $e) {
        }
        $this->assertCount(1, self::zset('queues:default:reserved'), '1.x catches Exception only: no release');
        $this->assertSame([], self::zset('queues:default:delayed'));
    }

    public function testExpiredReservationComesBackWithAttemptsPlusOne(): void
    {
        Queue::push('Lazy', 'forgetful');
        self::work('default');
        [$member] = array_keys(self::zset('queues:default:reserved'));
        self::admin()->zAdd('queues:default:reserved', ['XX'], time() - 1, $member);

        self::work('default');
        $this->assertSame([1, 2], array_column(Recorder::only('Lazy::fire'), 'attempts'));
    }

    public function testExpireNullDisablesReservationExpiry(): void
    {
        $queue = self::connector(['expire' => null]);
        $queue->push('Lazy', 'x', 'noexpire');
        $job = $queue->pop('noexpire');
        self::admin()->zAdd('queues:noexpire:reserved', ['XX'], 0, $job->getRawBody());

        $this->assertNull($queue->pop('noexpire'));
        $this->assertCount(1, self::zset('queues:noexpire:reserved'));
    }

    public function testDaemonProcessesEverythingThenStopsOnRestart(): void
    {
        foreach (['one', 'two', 'three'] as $data) {
            Queue::push('Hello', $data, 'daemon');
        }
        Queue::push('Flaky', 'boom', 'daemon');
        Hook::add('worker_before_sleep', static function () {
            Cache::set('think:queue:restart', time()); // php think queue:restart, once the queue is empty
        });

        $work = new Work();
        try {
            $work->execute(['queue' => 'daemon', 'daemon' => true, 'sleep' => 0, 'tries' => 1]);
            $this->fail('the daemon only ends through stop()');
        } catch (WorkerStopped $e) {
        }
        $this->assertSame(['one', 'two', 'three'], array_column(Recorder::only('Hello::fire'), 'data'));
        $this->assertSame(['Processed: Hello', 'Processed: Hello', 'Processed: Hello', 'Failed: Flaky'], $work->output);
        $this->assertSame([], self::keys());
        $this->assertCount(1, Handle::$reported);
        $this->assertSame('flaky failed on attempt 1', Handle::$reported[0]->getMessage());
        $this->assertContains('worker_queue_restart', array_column(Hook::$fired, 0));
        $this->assertSame('worker_daemon_start', Hook::$fired[0][0]);
    }

    public function testJobApi(): void
    {
        $id = Queue::push('Lazy', ['k' => 'v'], 'api');
        $job = Queue::pop('api');

        $this->assertInstanceOf(RedisJob::class, $job);
        $this->assertSame($id, $job->getJobId());
        $this->assertSame('Lazy', $job->getName());
        $this->assertSame('api', $job->getQueue());
        $this->assertSame(1, $job->attempts());
        $this->assertSame($job->getRawBody(), $job->getReservedJob(), '1.x reserves the popped bytes');
        $this->assertSame('{"job":"Lazy","data":{"k":"v"},"id":"' . $id . '","attempts":1}', $job->getRawBody());
        $this->assertFalse($job->isDeletedOrReleased());
        $job->delete();
        $this->assertTrue($job->isDeleted());
        $this->assertFalse($job->isReleased());
        $this->assertSame([], self::keys());
    }

    public function testHandWrittenPayloadWithoutAttemptsIsBuriedNotRun(): void
    {
        // no `attempts`: malformed (stock 1.x ran it, with PHP warnings wherever attempts() was
        // read); the shim buries it and throws (see V1MalformedTest)
        Queue::pushRaw('{"job":"Plain","data":{"by":"hand"}}', 'raw');
        try {
            self::work('raw');
            $this->fail('expected MalformedPayloadException');
        } catch (\think\queue\native\MalformedPayloadException $e) {
            $this->assertStringStartsWith('malformed payload in queue `raw`: the payload has no `attempts`', $e->getMessage());
        }
        $this->assertSame([], Recorder::only('Plain::fire'));
        $this->assertSame(['{"job":"Plain","data":{"by":"hand"}}'], self::listed('queues:raw:dead'));
        $this->assertSame(['queues:raw:dead'], self::keys());

        Queue::pushRaw('{"job":"Plain","data":{"by":"hand"},"attempts":1}', 'raw');
        $this->assertFalse(self::work('raw')['failed']);
        $this->assertSame([['by' => 'hand']], array_column(Recorder::only('Plain::fire'), 'data'), 'as stock: fire() decodes the raw body');
    }

    public function testFacadeForwardsTheConnectorsOtherMethods(): void
    {
        $this->assertSame('v1', Queue::getDialect());
        $this->assertSame(0, Queue::size('extra'));
        $id = Queue::pushRaw('{"job":"Hello","data":"raw","id":"abc","attempts":1}', 'extra');
        $this->assertSame('abc', $id);
        $this->assertNull(Queue::pushRaw('{"job":"Hello","data":"no id","attempts":1}', 'extra'), 'stock 1.x raised a warning here');
        Queue::later(10, 'Hello', 'x', 'extra');
        $this->assertSame(3, Queue::size('extra'));
        $this->assertSame('v1', Queue::getRedisQueue()->dialect());
    }

    public function testBlockForInAOneXConfigMakesPopWaitForAPush(): void
    {
        $queue = self::connector(['block_for' => 10]);
        $pid = pcntl_fork();
        if ($pid === 0) {
            usleep(300000);
            self::connector()->push('Hello', 'from the child', 'blocking1');
            posix_kill(getmypid(), SIGKILL); // no shutdown functions in the child
        }
        $started = microtime(true);
        $job = $queue->pop('blocking1');
        $waited = microtime(true) - $started;
        pcntl_waitpid($pid, $status);
        $this->assertNotNull($job);
        $this->assertSame(1, $job->attempts());
        $this->assertGreaterThan(0.2, $waited);
        $this->assertLessThan(2.0, $waited, 'woke on the push');
    }
}
