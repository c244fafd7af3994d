<?php
/*
 * Bad data in Redis under think-queue 3.x (issue 4, item 3): members that are not JSON, lack
 * `attempts`, or have no string `job`, put in the ready list or left in the reserved set by hand.
 * The unchanged (stand-in) 3.x worker must neither lose them nor loop on them: the shim job
 * answers attempts() 1 and maxTries() 1, its fire() buries the member in `<ready>:dead` (exact
 * bytes) and throws a MalformedPayloadException naming the queue and the problem, so the worker
 * fails the job (JobFailed, failer log of the raw body), reports the exception and moves on.
 */

declare(strict_types=1);

namespace tqn\tests\v3;

use think\facade\Queue;
use think\queue\command\Work;
use think\queue\command\WorkerStopped;
use think\queue\event\JobFailed;
use think\queue\native\job\Redis as RedisJob;
use think\queue\native\MalformedPayloadException;
use tqn\tests\support\Recorder;

final class V3MalformedTest extends V3TestCase
{
    /** member => what the exception says is wrong with it */
    private const MALFORMED = [
        'not json'               => 'the payload is not valid JSON',
        '{"job":"X","data":1}'   => 'the payload has no `attempts`',
        '[1,2]'                  => 'the payload has no `job`',
        '{"job":5,"attempts":0}' => '`job` is not a string',
        '{"attempts":0}'         => 'the payload has no `job`',
        ''                       => 'the payload is not valid JSON',
    ];

    /** @return array<string, array{string, int}> where the members are put, --tries */
    public static function placements(): array
    {
        return [
            'ready list, --tries 0'       => ['ready', 0],
            'ready list, --tries 1'       => ['ready', 1],
            'ready list, --tries 3'       => ['ready', 3],
            'expired reserved, --tries 0' => ['reserved', 0],
            'expired reserved, --tries 2' => ['reserved', 2],
        ];
    }

    /** Puts the malformed members in the ready list or (expired) in the reserved set, then a good job. */
    private static function seed(string $placement): void
    {
        foreach (array_keys(self::MALFORMED) as $member) {
            if ($placement === 'ready') {
                self::admin()->rPush('{queues:bad}', (string) $member);
            } else {
                self::admin()->zAdd('{queues:bad}:reserved', time() - 10, (string) $member); // 3.x moves them back as they are
            }
        }
        Queue::push('Hello', 'good', 'bad');
    }

    private function daemon(int $tries): Work
    {
        $this->app->bind(\think\queue\Worker::class, StopWhenIdleWorker::class);
        $work = $this->app->make(Work::class);
        try {
            $work->execute('redis', ['queue' => 'bad', 'sleep' => 0, 'tries' => $tries]);
            $this->fail('the daemon only ends through stop()');
        } catch (WorkerStopped $e) {
        }

        return $work;
    }

    /** @dataProvider placements */
    public function testDaemonFailsAndBuriesEachMalformedMemberOnceAndMovesOn(string $placement, int $tries): void
    {
        self::seed($placement);
        $members = array_map('strval', array_keys(self::MALFORMED));

        $work = $this->daemon($tries);

        $this->assertSame(['good'], array_column(Recorder::only('Hello::fire'), 'data'), 'the good job ran once');
        $dead = self::listed('{queues:bad}:dead');
        $this->assertCount(count($members), $dead, 'each member exactly once');
        $this->assertEqualsCanonicalizing($members, $dead, 'exact bytes');
        $this->assertSame(['{queues:bad}:dead'], self::keys(), 'nothing left in ready, reserved or delayed');

        // the failed path: JobFailed for each, the failer logged the raw body with the reason
        $failed = array_values(array_filter($this->events()->triggered, static fn ($e) => $e instanceof JobFailed));
        $this->assertCount(count($members), $failed);
        $this->assertCount(count($members), MemoryFailer::$logged);
        foreach (MemoryFailer::$logged as $i => $row) {
            $this->assertContains($row['payload'], $members);
            $this->assertSame('redis', $row['connection']);
            $this->assertSame('bad', $row['queue']);
            $e = $row['exception'];
            $this->assertInstanceOf(MalformedPayloadException::class, $e);
            $this->assertStringStartsWith('malformed payload in queue `bad`: ' . self::MALFORMED[$row['payload']], $e->getMessage());
            $this->assertStringEndsWith('; moved to the dead-letter list `{queues:bad}:dead`', $e->getMessage());
            $this->assertInstanceOf(MalformedPayloadException::class, $e->getPrevious());

            $job = $failed[$i]->job;
            $this->assertInstanceOf(RedisJob::class, $job);
            $this->assertSame($e, $failed[$i]->exception);
            $this->assertSame($row['payload'], $job->getRawBody());
            $this->assertTrue($job->hasFailed());
            $this->assertTrue($job->isDeleted());
            $this->assertFalse($job->isReleased(), 'failed, not released');
        }
        $this->assertCount(count($members), $this->handle()->reported, 'each exception reported');
        $this->assertSame(array_column(MemoryFailer::$logged, 'exception'), $this->handle()->reported);
        $this->assertSame([], Recorder::only('Hello::failed'));
        $this->assertContains('[] Failed:     (malformed payload)', $work->output);
        $this->assertSame(count($members), count(array_keys($work->output, '[] Failed:     (malformed payload)')));

        // a second worker run finds nothing: no crash loop
        MemoryFailer::$logged = [];
        $this->handle()->reported = [];
        $printed = count($work->output);
        $again = $this->daemon($tries); // the container hands out the same command object
        $this->assertSame([], array_slice($again->output, $printed), 'printed nothing more');
        $this->assertSame([], MemoryFailer::$logged);
        $this->assertSame([], $this->handle()->reported);
        $this->assertCount(count($members), self::listed('{queues:bad}:dead'));
        $this->assertSame(['{queues:bad}:dead'], self::keys());
    }

    /** `php think queue:work --once` run several times: one member per run, then the good job, then nothing. */
    public function testOnceRunsBuryOneMemberEachThenRunTheGoodJob(): void
    {
        self::seed('ready');
        $members = array_map('strval', array_keys(self::MALFORMED));

        foreach ($members as $i => $member) {
            $job = $this->work('bad');
            $this->assertSame($member, $job->getRawBody());
            $this->assertTrue($job->hasFailed());
            $last = $this->events()->triggered[count($this->events()->triggered) - 2]; // ... JobFailed, JobExceptionOccurred
            $this->assertInstanceOf(JobFailed::class, $last);
            $this->assertSame($job, $last->job);
        }
        $this->assertSame([], MemoryFailer::$logged, 'the stand-in failer listens inside queue:work only');
        $this->assertSame($members, self::listed('{queues:bad}:dead'), 'in pop order');

        $job = $this->work('bad');
        $this->assertSame('Hello', $job->getName());
        $this->assertNull($this->work('bad'));
        $this->assertSame(['{queues:bad}:dead'], self::keys());
        $this->assertCount(count($members), $this->handle()->reported);
    }

    public function testMalformedJobApiAnswersWithoutThrowing(): void
    {
        self::admin()->rPush('{queues:api}', '{"job":5,"maxTries":10,"timeout":30,"timeoutAt":1,"id":"abc","attempts":0}');
        $job = $this->connection()->pop('api');

        $this->assertInstanceOf(RedisJob::class, $job);
        $this->assertInstanceOf(MalformedPayloadException::class, $job->malformedPayload());
        $this->assertSame(1, $job->attempts());
        $this->assertSame(1, $job->maxTries(), 'whatever the payload says: fail on the first exception');
        $this->assertNull($job->timeout());
        $this->assertNull($job->timeoutAt());
        $this->assertSame('(malformed payload)', $job->getName());
        $this->assertSame('abc', $job->getJobId(), 'a readable id is kept');
        $this->assertSame('api', $job->getQueue());
        $this->assertSame('redis', $job->getConnection());
        $this->assertCount(1, self::zset('{queues:api}:reserved'));

        try {
            $job->fire();
            $this->fail('expected MalformedPayloadException');
        } catch (MalformedPayloadException $e) {
            $this->assertSame('malformed payload in queue `api`: `job` is not a string; moved to the dead-letter list `{queues:api}:dead`', $e->getMessage());
        }
        $this->assertFalse($job->isDeleted(), '3.x: the worker must still fail it (failJob skips deleted jobs)');
        $job->markAsFailed();
        $job->delete();
        $job->failed($e);
        $job->release(5);
        $this->assertSame(['{"job":5,"maxTries":10,"timeout":30,"timeoutAt":1,"id":"abc","attempts":0}'], self::listed('{queues:api}:dead'));
        $this->assertSame(['{queues:api}:dead'], self::keys(), 'delete/failed/release after bury add nothing');

        self::admin()->rPush('{queues:api}', 'not json');
        $job = $this->connection()->pop('api');
        $this->assertNull($job->getJobId());
        $job->failed(new \RuntimeException('x')); // no handler to resolve: buries it, throws nothing
        $this->assertSame('not json', self::listed('{queues:api}:dead')[1]);
    }

    public function testValidPayloadWithANonStringIdRunsAsInStock(): void
    {
        Queue::pushRaw('{"job":"Plain","data":"int id","id":5,"attempts":0}', 'raw');
        $job = $this->work('raw', 3);
        $this->assertNull($job->malformedPayload());
        $this->assertSame(5, $job->getJobId());
        $this->assertSame(['int id'], array_column(Recorder::only('Plain::fire'), 'data'));
        $this->assertSame([], $this->handle()->reported);
        $this->assertSame([], self::keys());
    }

    /**
     * A handler class that does not exist is not malformed data: as stock 3.x, resolving it throws,
     * the worker releases the job and, with --tries N, fails it at the end of run N (JobFailed,
     * failer log); with --tries 0 it is released again after every run.
     */
    public function testMissingHandlerClassIsRetriedAsInStock(): void
    {
        Queue::push('NoSuchJob', 'x', 'missing');
        for ($run = 1; $run <= 3; $run++) {
            $job = $this->work('missing', 0);
            $this->assertTrue($job->isReleased(), "run $run: released");
            $this->assertSame($run, $job->attempts());
        }
        $this->assertCount(1, self::zset('{queues:missing}:delayed'));
        $this->assertSame([], self::listed('{queues:missing}:dead'), 'never buried');
        $job = $this->work('missing', 4);
        $this->assertTrue($job->hasFailed());
        $this->assertSame([], self::keys());
    }
}
