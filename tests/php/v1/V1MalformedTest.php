<?php
/*
 * Bad data in Redis under think-queue 1.x/2.x (issue 4, item 3): members that are not JSON, lack
 * `attempts`, or have no string `job`, put in the ready list or left in the reserved set by hand.
 * The unchanged (stand-in) 1.x worker must neither lose them nor loop on them: the shim job's
 * fire() buries each one in `<ready>:dead` (exact bytes), runs the failed path 1.x offers (the
 * job's failed(), the `queue_failed` hook) and throws a MalformedPayloadException naming the
 * queue and the problem; the worker reports it and moves on.
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use think\Cache;
use think\exception\Handle;
use think\Hook;
use think\Queue;
use think\queue\command\Work;
use think\queue\command\WorkerStopped;
use think\queue\native\job\Redis as RedisJob;
use think\queue\native\MalformedPayloadException;
use tqn\tests\support\Recorder;

final class V1MalformedTest extends V1TestCase
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

    /** @var RedisJob[] jobs the queue_failed hook was given */
    private array $failedHook = [];

    private int $restarts = 0;

    protected function setUp(): void
    {
        parent::setUp();
        $this->failedHook = [];
        Hook::add('queue_failed', function ($job) {
            $this->failedHook[] = $job;
            $job->failed(); // a listener calling the job's failed() again: harmless
        });
        // php think queue:restart once the queue is empty, so a daemon run ends
        Hook::add('worker_before_sleep', function () {
            Cache::set('think:queue:restart', ++$this->restarts);
        });
    }

    /**
     * Where the bad members are put: the ready list, or the reserved set with an expired score
     * (the pop migrates them back; 1.x adds 1 to a trailing "attempts":N, as stock does).
     *
     * @return array<string, array{string, int}>
     */
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

    /**
     * Puts the malformed members where $placement says, then a good job; returns the bytes each
     * member will have when popped, => its reason.
     */
    private static function seed(string $placement): array
    {
        $expected = [];
        foreach (self::MALFORMED as $member => $reason) {
            $member = (string) $member;
            if ($placement === 'ready') {
                self::admin()->rPush('queues:bad', $member);
                $expected[$member] = $reason;
            } else {
                self::admin()->zAdd('queues:bad:reserved', time() - 10, $member);
                $expected[preg_replace_callback('/"attempts":(\d+)}$/', static fn ($m) => '"attempts":' . ($m[1] + 1) . '}', $member)] = $reason;
            }
        }
        Queue::push('Hello', 'good', 'bad');

        return $expected;
    }

    /** @dataProvider placements */
    public function testDaemonBuriesEachMalformedMemberOnceAndMovesOn(string $placement, int $tries): void
    {
        $expected = self::seed($placement);

        $work = new Work();
        $this->daemon($work, $tries);

        $this->assertSame(['good'], array_column(Recorder::only('Hello::fire'), 'data'), 'the good job ran once');
        $this->assertSame(['Processed: Hello'], $work->output, 'malformed jobs throw: the daemon reports them');
        $dead = self::listed('queues:bad:dead');
        $this->assertCount(count(self::MALFORMED), $dead, 'each member exactly once');
        $this->assertEqualsCanonicalizing(array_map('strval', array_keys($expected)), $dead, 'exact bytes');
        $this->assertSame(['queues:bad:dead'], self::keys(), 'nothing left in ready, reserved or delayed');

        $this->assertCount(count(self::MALFORMED), Handle::$reported);
        foreach (Handle::$reported as $e) {
            $this->assertInstanceOf(MalformedPayloadException::class, $e);
            $this->assertInstanceOf(MalformedPayloadException::class, $e->getPrevious());
        }
        $this->assertCount(count(self::MALFORMED), $this->failedHook, 'queue_failed fired once for each');
        $reported = array_map(static fn ($e) => $e->getMessage(), Handle::$reported);
        foreach ($this->failedHook as $i => $job) {
            $raw = $job->getRawBody();
            $this->assertArrayHasKey($raw, $expected);
            $this->assertSame(
                'malformed payload in queue `bad`: ' . $expected[$raw],
                substr($reported[$i], 0, strlen('malformed payload in queue `bad`: ' . $expected[$raw])),
                "reason for '$raw'"
            );
            $this->assertStringEndsWith('; moved to the dead-letter list `queues:bad:dead`', $reported[$i]);
            $this->assertSame('(malformed payload)', $job->getName());
            $this->assertSame('bad', $job->getQueue());
            $this->assertTrue($job->isDeleted(), 'deleted: the worker did not release it');
            $this->assertFalse($job->isReleased());
        }

        // a second worker run finds nothing: no crash loop
        Handle::$reported = [];
        $this->failedHook = [];
        $again = new Work();
        $this->daemon($again, $tries);
        $this->assertSame([], $again->output);
        $this->assertSame([], Handle::$reported);
        $this->assertSame([], $this->failedHook);
        $this->assertCount(count(self::MALFORMED), self::listed('queues:bad:dead'));
        $this->assertSame(['queues:bad:dead'], self::keys());
    }

    /** `php think queue:work` without --daemon: one job per run, the exception escapes the command. */
    public function testSingleRunsBuryOneMemberEachAndThenRunTheGoodJob(): void
    {
        $expected = self::seed('ready');

        $thrown = [];
        for ($run = 0; $run < count(self::MALFORMED); $run++) {
            try {
                (new Work())->execute(['queue' => 'bad', 'sleep' => 0]);
                $this->fail('a malformed job makes fire() throw');
            } catch (MalformedPayloadException $e) {
                $thrown[] = $e->getMessage();
            }
        }
        foreach (array_values($expected) as $i => $reason) {
            $this->assertStringStartsWith('malformed payload in queue `bad`: ' . $reason, $thrown[$i]);
        }
        $this->assertSame(array_map('strval', array_keys($expected)), self::listed('queues:bad:dead'), 'in pop order');

        $work = new Work();
        $work->execute(['queue' => 'bad', 'sleep' => 0]);
        $this->assertSame(['Processed: Hello'], $work->output);
        $this->assertSame(['queues:bad:dead'], self::keys());

        $work = new Work();
        $work->execute(['queue' => 'bad', 'sleep' => 0]);
        $this->assertSame([], $work->output, 'nothing more');
        $this->assertCount(count(self::MALFORMED), $this->failedHook);
    }

    public function testMalformedJobApiAnswersWithoutThrowing(): void
    {
        self::admin()->rPush('queues:api', 'not json');
        $job = Queue::pop('api');

        $this->assertInstanceOf(RedisJob::class, $job);
        $this->assertInstanceOf(MalformedPayloadException::class, $job->malformedPayload());
        $this->assertSame(1, $job->attempts());
        $this->assertSame('(malformed payload)', $job->getName());
        $this->assertNull($job->getJobId());
        $this->assertSame('not json', $job->getRawBody());
        $this->assertSame('api', $job->getQueue());
        $this->assertSame(1, $job->maxTries());
        $this->assertNull($job->timeout());
        $this->assertNull($job->timeoutAt());
        $this->assertCount(1, self::zset('queues:api:reserved'), 'reserved until the worker gets to it');

        $job->failed(); // no handler to call: buries it
        $this->assertSame(['not json'], self::listed('queues:api:dead'));
        $job->delete();
        $job->release(10);
        $this->assertSame(['queues:api:dead'], self::keys(), 'delete/release after bury add nothing');
        $this->assertSame([], $this->failedHook, 'only the worker flow fires hooks');
    }

    public function testReleaseOrDeleteOfAMalformedJobBuriesIt(): void
    {
        self::admin()->rPush('queues:api', '{"job":"Hello","data":1}', '{"attempts":3}');

        $noAttempts = Queue::pop('api');
        $noAttempts->release(5); // releasing needs attempts + 1: buried instead
        $this->assertTrue($noAttempts->isReleased());
        $this->assertTrue($noAttempts->isDeleted());
        $noJob = Queue::pop('api');
        $noJob->delete();

        $this->assertSame(['{"job":"Hello","data":1}', '{"attempts":3}'], self::listed('queues:api:dead'));
        $this->assertSame(['queues:api:dead'], self::keys());
        $this->assertSame([], Recorder::$log, 'no handler ran');
    }

    public function testIdOfAMalformedPayloadIsKeptWhenReadable(): void
    {
        self::admin()->rPush('queues:api', '{"job":["x"],"id":"abc","attempts":1}');
        $job = Queue::pop('api');
        $this->assertNotNull($job->malformedPayload());
        $this->assertSame('abc', $job->getJobId());
        try {
            $job->fire(); // as the worker would
            $this->fail('expected the malformed payload exception');
        } catch (MalformedPayloadException $e) {
            $this->assertStringStartsWith('malformed payload in queue `api`: `job` is not a string', $e->getMessage());
        }
        $this->assertTrue($job->isDeleted());
        $this->assertCount(1, $this->failedHook);
        $this->assertSame(['{"job":["x"],"id":"abc","attempts":1}'], self::listed('queues:api:dead'));
        $this->assertSame(['queues:api:dead'], self::keys());
    }

    public function testValidPayloadWithoutIdOrWithANonStringIdRunsAsInStock(): void
    {
        Queue::pushRaw('{"job":"Plain","data":{"by":"hand"},"attempts":1}', 'raw');
        Queue::pushRaw('{"job":"Plain","data":"int id","id":5,"attempts":1}', 'raw');

        $first = self::work('raw', 3);
        $this->assertNull($first['job']->getJobId());
        $second = self::work('raw', 3);
        $this->assertSame(5, $second['job']->getJobId(), 'stock returns the id as it is');
        $this->assertSame([['by' => 'hand'], 'int id'], array_column(Recorder::only('Plain::fire'), 'data'));
        $this->assertNull($second['job']->malformedPayload());
        $this->assertSame([], self::keys());
    }

    /**
     * A handler class that does not exist is not malformed data: stock 1.x does nothing (the job
     * stays reserved and runs again after `expire`, with attempts + 1), so with --tries N the
     * worker fails it on pop N+1 (failed() finds no class, the queue_failed hook fires); with
     * --tries 0 it comes back after every `expire`, as with stock.
     */
    public function testMissingHandlerClassFailsThroughTriesAsInStock(): void
    {
        Queue::push('NoSuchJob', 'x', 'missing');
        for ($pop = 1; $pop <= 2; $pop++) {
            $result = self::work('missing', 1);
            if ($pop === 1) {
                $this->assertFalse($result['failed']);
                $this->assertFalse($result['job']->isDeletedOrReleased(), 'a silent no-op');
                [$member] = array_keys(self::zset('queues:missing:reserved'));
                self::admin()->zAdd('queues:missing:reserved', ['XX'], time() - 1, $member); // expire passes
            }
        }
        $this->assertTrue($result['failed']);
        $this->assertSame(2, $result['job']->attempts());
        $this->assertSame([$result['job']], $this->failedHook);
        $this->assertSame([], self::keys());
    }

    private function daemon(Work $work, int $tries): void
    {
        try {
            $work->execute(['queue' => 'bad', 'daemon' => true, 'sleep' => 0, 'tries' => $tries]);
            $this->fail('the daemon only ends through stop()');
        } catch (WorkerStopped $e) {
        }
    }
}
