<?php
/*
 * Stock think-queue 3.x (its algorithm on phpredis: bench/php/StockRedisQueue.php) and the native
 * connector on the same Redis queues: jobs pushed by either are consumed by the other, exactly
 * once, with the attempts counting of 3.x (reserved copy carries attempts + 1).
 */

declare(strict_types=1);

namespace tqn\tests\v3;

use app\job\SendMail;
use think\facade\Queue;
use tqn\bench\StockRedisQueue;
use tqn\tests\support\Recorder;

final class V3InteropTest extends V3TestCase
{
    private static function stock(): StockRedisQueue
    {
        return new StockRedisQueue(self::connectionConfig(), StockRedisQueue::V3);
    }

    private function drain(string $queue): int
    {
        $n = 0;
        while ($this->work($queue) !== null) {
            $n++;
        }

        return $n;
    }

    public function testJobsPushedByStockRunInTheShimWorkerExactlyOnce(): void
    {
        $stock = self::stock();
        $ids = [];
        for ($i = 0; $i < 10; $i++) {
            $ids[] = $stock->push('Hello', ['i' => $i, 'empty' => new \stdClass()], 'interop');
        }
        $ids[] = $stock->later(0, 'Hello', ['i' => 10], 'interop');
        $stock->push(new SendMail('stock@x.y'), '', 'interop');

        $this->assertSame(12, $this->drain('interop'));
        $runs = Recorder::only('Hello::fire');
        $this->assertSame(range(0, 10), array_map(static fn ($r) => $r['data']['i'], $runs));
        $this->assertSame([], $runs[0]['data']['empty'], 'json_decode(.., true) of {}');
        $this->assertSame($ids, array_map(static fn ($r) => $r['job']->getJobId(), $runs));
        $this->assertSame(array_fill(0, 11, 1), array_column($runs, 'attempts'));
        $this->assertCount(1, Recorder::only('SendMail::handle'));
        $this->assertSame([], $this->handle()->reported);
        $this->assertSame([], self::keys());
    }

    public function testJobsPushedByTheShimArePoppedByStockExactlyOnce(): void
    {
        $ids = [];
        for ($i = 0; $i < 10; $i++) {
            $ids[] = Queue::push('Hello', ['i' => $i], 'interop');
        }
        $ids[] = Queue::later(0, 'Hello', ['i' => 10], 'interop');
        $ids[] = Queue::push(new SendMail('native@x.y'), '', 'interop');
        $written = array_merge(self::listed('{queues:interop}'), array_keys(self::zset('{queues:interop}:delayed')));

        $stock = self::stock();
        $seen = [];
        while (($job = $stock->pop('interop')) !== null) {
            $this->assertSame(1, $job->attempts());
            $seen[] = [$job->getJobId(), $job->getRawBody(), $job->getName()];
            $job->delete();
        }
        $this->assertEqualsCanonicalizing($ids, array_column($seen, 0));
        $this->assertSame($written, array_column($seen, 1), 'stock reads our bytes as they are');
        $this->assertSame('think\queue\CallQueuedHandler@call', $seen[10][2]);
        $this->assertSame([], self::keys());
    }

    public function testReleaseAndExpiryCountAttemptsTheSameWay(): void
    {
        $stock = self::stock();
        $stock->push('Again', ['until' => 9, 'delay' => 0, 'keep' => new \stdClass()], 'interop');
        $stock->pop('interop')->release(0);              // stock run 1, released with attempts 1
        $this->work('interop');                          // shim run 2, releases its copy (attempts 2)
        $job = $stock->pop('interop');                   // stock run 3
        $this->assertSame(3, $job->attempts());
        // the stock worker dies: its reservation expires, its reserved copy (attempts 3) comes back as it is
        self::admin()->zAdd('{queues:interop}:reserved', ['XX'], time() - 1, $job->getReservedBody());
        $this->work('interop');                          // shim run 4
        $this->assertSame([2, 4], array_column(Recorder::only('Again::release'), 'attempts'));
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
                $job = $this->work('mixed');
                if ($job === null) {
                    break;
                }
                $consumed[] = $job->getJobId();
            }
        }
        $this->assertSame($ids, $consumed, 'FIFO, each once');
        $this->assertSame([], self::keys());
    }
}
