<?php
/*
 * Stock think-queue 1.x (its algorithm on phpredis: bench/php/StockRedisQueue.php) and the native
 * connector on the same Redis queues: jobs pushed by either are consumed by the other, exactly
 * once, with the attempts counting of 1.x.
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use app\job\SendMail;
use think\Queue;
use tqn\bench\StockRedisQueue;
use tqn\tests\support\Recorder;

final class V1InteropTest extends V1TestCase
{
    private static function stock(): StockRedisQueue
    {
        return new StockRedisQueue(self::config(), StockRedisQueue::V1);
    }

    /** Runs the shim worker on $queue until it finds nothing; returns how many jobs it ran. */
    private static function drain(string $queue): int
    {
        $n = 0;
        while (self::work($queue)['job'] !== null) {
            $n++;
        }

        return $n;
    }

    public function testJobsPushedByStockRunInTheShimWorkerExactlyOnce(): void
    {
        $stock = self::stock();
        $ids = [];
        for ($i = 0; $i < 10; $i++) {
            $ids[] = $stock->push('Hello', ['i' => $i], 'interop');
        }
        $stock->later(0, 'Hello', ['i' => 10], 'interop');
        $ids[] = $stock->lastId();
        $stock->push(new SendMail('stock@x.y'), '', 'interop');

        $this->assertSame(12, self::drain('interop'));
        $runs = Recorder::only('Hello::fire');
        $this->assertSame(range(0, 10), array_map(static fn ($r) => $r['data']['i'], $runs));
        $this->assertSame($ids, array_map(static fn ($r) => $r['job']->getJobId(), $runs));
        $this->assertSame(array_fill(0, 11, 1), array_column($runs, 'attempts'));
        $this->assertSame(['to' => 'stock@x.y'], array_slice(Recorder::only('SendMail::handle')[0], 1));
        $this->assertSame([], self::keys());
    }

    public function testJobsPushedByTheShimArePoppedByStockExactlyOnce(): void
    {
        $ids = [];
        for ($i = 0; $i < 10; $i++) {
            $ids[] = Queue::push('Hello', ['i' => $i], 'interop');
        }
        $ids[] = Queue::later(0, 'Hello', ['i' => 10], 'interop');
        $written = array_merge(self::listed('queues:interop'), array_keys(self::zset('queues:interop:delayed')));

        $stock = self::stock();
        $seen = [];
        while (($job = $stock->pop('interop')) !== null) {
            $this->assertSame(1, $job->attempts());
            $this->assertSame('Hello', $job->getName());
            $seen[] = [$job->getJobId(), $job->getData()['i'], $job->getRawBody()];
            $job->delete();
        }
        $this->assertSame($ids, array_column($seen, 0));
        $this->assertSame(range(0, 10), array_column($seen, 1));
        $this->assertSame($written, array_column($seen, 2), 'stock reads our bytes as they are');
        $this->assertSame([], self::keys());
    }

    public function testReleaseAndExpiryCountAttemptsTheSameWay(): void
    {
        $stock = self::stock();
        $stock->push('Lazy', 'x', 'interop');

        $job = $stock->pop('interop');                 // stock run 1
        $this->assertSame(1, $job->attempts());
        $job->release(0);

        $this->assertNotNull(self::work('interop')['job']); // shim run 2
        $this->assertSame([2], array_column(Recorder::only('Lazy::fire'), 'attempts'));
        $reserved = array_keys(self::zset('queues:interop:reserved'));
        $this->assertCount(1, $reserved, 'Lazy does not delete: stays reserved');
        $this->assertSame(2, json_decode($reserved[0], true)['attempts']);
        Recorder::reset();
        self::admin()->flushAll();

        $stock->push('Again', ['until' => 9, 'delay' => 0], 'interop');
        $stock->pop('interop')->release(0);              // stock: attempts 1 -> 2
        self::work('interop');                           // shim: runs attempt 2, releases -> 3
        $job = $stock->pop('interop');                   // stock sees 3
        $this->assertSame(3, $job->attempts());
        // the stock worker dies: its reservation expires
        self::admin()->zAdd('queues:interop:reserved', ['XX'], time() - 1, $job->getReservedBody());
        self::work('interop');                           // shim migrates it back with attempts 4
        $this->assertSame([2, 4], array_column(Recorder::only('Again::release'), 'attempts'));
        $member = array_keys(self::zset('queues:interop:delayed'));
        $this->assertCount(1, $member);
        $this->assertSame(5, json_decode($member[0], true)['attempts']);
        $this->assertSame(5, $stock->pop('interop')->attempts());
    }

    public function testMixedProducersAndConsumersSeeEveryJobExactlyOnce(): void
    {
        $stock = self::stock();
        $ids = [];
        for ($i = 0; $i < 40; $i++) {
            $ids[] = $i % 2 === 0 ? $stock->push('Hello', $i, 'mixed') : Queue::push('Hello', $i, 'mixed');
        }
        $consumed = [];
        for ($turn = 0; ; $turn++) {
            if ($turn % 2 === 0) {
                $job = $stock->pop('mixed');
                if ($job === null) {
                    break;
                }
                $consumed[] = $job->getJobId();
                $job->delete();
            } else {
                $result = self::work('mixed');
                if ($result['job'] === null) {
                    break;
                }
                $consumed[] = $result['job']->getJobId();
            }
        }
        $this->assertSame($ids, $consumed, 'FIFO, each once');
        $this->assertSame([], self::keys());
    }
}
