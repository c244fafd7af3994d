<?php
/*
 * Every v3 line of tests/data/payloads.jsonl (bytes observed from stock think-queue 3.0.9),
 * replayed through the think\facade\Queue facade with the native connector on the default
 * connection: key, payload bytes (<ID> = the returned id), return value, then pop through the
 * shim (reserved member) and release(0) (delayed member).
 *
 * Where stock's decode/re-encode of the reserved copy changes user data
 * (normalisation_changes_data = true), our reserved/released copy is the raw payload with the
 * trailing "attempts" bumped instead; PHP decodes both to the same array, which is asserted.
 * Error lines throw PayloadException with think-queue's message and leave Redis empty.
 */

declare(strict_types=1);

namespace tqn\tests\v3;

use think\facade\Queue;
use think\queue\native\job\Redis as RedisJob;
use think\queue\native\PayloadException;
use tqn\tests\support\Vectors;

final class V3VectorsTest extends V3TestCase
{
    public static function vectors(): array
    {
        return Vectors::provide('v3');
    }

    public function testAllVectorsAreThere(): void
    {
        $this->assertCount(226, self::vectors());
        $changing = array_filter(self::vectors(), static fn (array $row) => $row[0]['normalisation_changes_data'] === true);
        $this->assertCount(33, $changing);
    }

    /** @dataProvider vectors */
    public function testVector(array $case): void
    {
        [$job, $data, $queue] = Vectors::input($case);
        $call = static fn () => $case['op'] === 'later'
            ? Queue::later($case['delay'], $job, $data, $queue)
            : Queue::push($job, $data, $queue);

        if ($case['error'] !== null) {
            try {
                $call();
                $this->fail('expected PayloadException: ' . $case['error']['message']);
            } catch (PayloadException $e) {
                $this->assertSame($case['error']['message'], $e->getMessage());
            }
            $this->assertSame([], self::keys(), 'nothing written');

            return;
        }
        if ($case['id'] === 'nested.d511_list') {
            // Stock 3.x stores it, returns null and loses the job at pop; we refuse it up front.
            $this->assertNotEmpty($case['pop_error']);
            try {
                $call();
                $this->fail('expected PayloadException for data PHP cannot decode again');
            } catch (PayloadException $e) {
                $this->assertStringStartsWith('Unable to create payload: Maximum stack depth exceeded', $e->getMessage());
            }
            $this->assertSame([], self::keys(), 'nothing written');

            return;
        }

        $id = $call();
        self::assertId($id);
        $this->assertSame(Vectors::withId($case['returns'], $id), $id);

        $payload = Vectors::withId($case['payload'], $id);
        $this->assertSame([$case['key']], self::keys());
        if ($case['op'] === 'later') {
            $ready   = substr($case['key'], 0, -strlen(':delayed'));
            $delayed = self::zset($case['key']);
            $this->assertSame([$payload], array_keys($delayed));
            $this->assertEqualsWithDelta(time() + $case['delay'], $delayed[$payload], 2);
            self::admin()->zAdd($case['key'], ['XX'], 0, $payload); // due now, bytes untouched
        } else {
            $ready = $case['key'];
            $this->assertSame([$payload], self::listed($ready));
        }

        $popped = Queue::pop($queue);
        $this->assertInstanceOf(RedisJob::class, $popped);
        $this->assertInstanceOf(\think\queue\Job::class, $popped);
        $this->assertSame($payload, $popped->getRawBody());
        $this->assertSame(1, $popped->attempts());
        $this->assertSame($id, $popped->getJobId());
        $this->assertSame($queue, $popped->getQueue(), '3.x jobs keep the pop() argument as given');
        $this->assertSame('redis', $popped->getConnection());
        $this->assertSame($job, $popped->getName());
        $this->assertSame([], self::listed($ready));

        $stockReserved = Vectors::withId($case['reserved'], $id);
        $reserved = self::zset($ready . ':reserved');
        $this->assertCount(1, $reserved);
        $member = (string) key($reserved);
        $this->assertEqualsWithDelta(time() + 60, reset($reserved), 2);
        $this->assertSame($member, $popped->getReservedJob());
        if ($case['normalisation_changes_data']) {
            $this->assertNotSame($stockReserved, $member);
            $this->assertSame(Vectors::bumpAttempts($payload), $member, 'our copy: the raw bytes, attempts + 1');
            $this->assertTrue(json_decode($member, true) == json_decode($stockReserved, true), 'PHP reads the same array from both');
        } else {
            $this->assertSame($stockReserved, $member);
        }

        $popped->release(0);
        $this->assertTrue($popped->isReleased());
        $this->assertFalse($popped->isDeleted(), '3.x release() does not mark the job deleted');
        $this->assertSame([], self::zset($ready . ':reserved'));
        $this->assertSame([], self::listed($ready));
        $delayed = self::zset($ready . ':delayed');
        $this->assertSame([$member], array_keys($delayed), 'the reserved copy is what gets delayed');
        $this->assertEqualsWithDelta(time(), reset($delayed), 2);
        $this->assertSame($case['reserved'], $case['released']);
    }
}
