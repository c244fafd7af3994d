<?php
/*
 * Every v1 line of tests/data/payloads.jsonl (bytes observed from stock think-queue 1.1.6),
 * replayed through the think\Queue facade with the native connector configured: key, payload
 * bytes (<ID> = the returned id), return value, then pop through the shim (reserved member) and
 * release(0) (delayed member). Error lines throw PayloadException with think-queue's message and
 * leave Redis empty.
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use think\Queue;
use think\queue\native\job\Redis as RedisJob;
use think\queue\native\PayloadException;
use tqn\tests\support\Vectors;

final class V1VectorsTest extends V1TestCase
{
    public static function vectors(): array
    {
        return Vectors::provide('v1');
    }

    public function testAllVectorsAreThere(): void
    {
        $this->assertCount(226, self::vectors());
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
            // Stock 1.x stores {"id":..,"attempts":1} here (job and data silently dropped); we refuse.
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
        if ($case['op'] === 'later') {
            $this->assertNull($case['returns'], 'stock 1.x later() returns null; ours returns the id');
        } else {
            $this->assertSame(Vectors::withId($case['returns'], $id), $id);
        }

        $payload = Vectors::withId($case['payload'], $id);
        $this->assertSame([$case['key']], self::keys());
        if ($case['op'] === 'later') {
            $ready   = substr($case['key'], 0, -strlen(':delayed'));
            $delayed = self::zset($case['key']);
            $this->assertSame([$payload], array_keys($delayed));
            $this->assertEqualsWithDelta(time() + $case['delay'], $delayed[$payload], 2);
            // as the vectors were made: make it due without touching the bytes
            self::admin()->zAdd($case['key'], ['XX'], 0, $payload);
        } else {
            $ready = $case['key'];
            $this->assertSame([$payload], self::listed($ready));
        }

        $popped = Queue::pop($queue);
        $this->assertInstanceOf(RedisJob::class, $popped);
        $this->assertInstanceOf(\think\queue\Job::class, $popped);
        $this->assertSame($payload, $popped->getRawBody());
        $this->assertSame(1, $popped->attempts());
        $this->assertSame($queue ?: 'default', $popped->getQueue());
        $this->assertSame($job, $popped->getName());
        $this->assertSame([], self::listed($ready));
        $reserved = self::zset($ready . ':reserved');
        $this->assertSame([Vectors::withId($case['reserved'], $id)], array_keys($reserved));
        $this->assertEqualsWithDelta(time() + 60, reset($reserved), 2);

        $popped->release(0);
        $this->assertTrue($popped->isReleased());
        $this->assertTrue($popped->isDeleted(), '1.x release() marks the job deleted too');
        $this->assertSame([], self::zset($ready . ':reserved'));
        $this->assertSame([], self::listed($ready));
        $delayed = self::zset($ready . ':delayed');
        $this->assertSame([Vectors::withId($case['released'], $id)], array_keys($delayed));
        $this->assertEqualsWithDelta(time(), reset($delayed), 2);
    }
}
