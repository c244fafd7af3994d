<?php
/*
 * The baseline as think-queue's facade and worker see a connector: StockConnector extends the
 * installed think\queue\Connector (1.x/2.x or 3.x stand-in) and StockThinkJob the installed
 * think\queue\Job, the way stock's think\queue\connector\Redis and think\queue\job\Redis do, but
 * every Redis call is made by tqn\bench\StockRedisQueue / StockJob (StockRedisQueue.php), i.e.
 * stock's command sequences (wire spec §4). These two classes send nothing to Redis themselves.
 *
 * So a benchmark can run the same think-queue app (same facade, same Worker, same handler class)
 * with either connector in the config slot: 'think\queue\native\connector\Redis' (the shim) or
 * 'tqn\bench\StockConnector' (stock's algorithm). Required after the stand-ins' loader.
 */

namespace tqn\bench;

class StockConnector extends \think\queue\Connector
{
    /** @var StockRedisQueue */
    private $stock;

    /**
     * @param array $options 1.x/2.x: the whole `queue` config; 3.x: the connection's config
     */
    public function __construct($options = [])
    {
        $this->options = (array) $options;
        $generation    = method_exists(\think\queue\Connector::class, 'setConnection') ? 'v3' : 'v1';
        $this->stock   = new StockRedisQueue($this->options, $generation);
    }

    /** think-queue 3.x builds drivers through a public static __make($config) (stock's Redis has one). */
    public static function __make($config)
    {
        return new static($config);
    }

    /** The StockRedisQueue behind this connector (not a think-queue API). */
    public function stock(): StockRedisQueue
    {
        return $this->stock;
    }

    public function size($queue = null)
    {
        return $this->stock->size($queue);
    }

    public function push($job, $data = '', $queue = null)
    {
        return $this->stock->push($job, $data, $queue);
    }

    public function pushRaw($payload, $queue = null, array $options = [])
    {
        return $this->stock->pushRaw($payload, $queue);
    }

    public function later($delay, $job, $data = '', $queue = null)
    {
        return $this->stock->later($delay, $job, $data, $queue);
    }

    // bulk(): 3.x inherits the base class's loop of push(), which is stock's bulk; 1.x has none.

    public function pop($queue = null)
    {
        $job = $this->stock->pop($queue);
        if ($job === null) {
            return null;
        }

        return new StockThinkJob($job, $this->app ?? null, $this->connection ?? null);
    }
}

/** think-queue's Redis job over a StockJob: handler resolution from the base class, Redis work from StockJob. */
class StockThinkJob extends \think\queue\Job
{
    /** @var StockJob */
    private $stockJob;

    /** @var bool the installed base class is think-queue 3.x's */
    private $v3;

    public function __construct(StockJob $job, $app = null, $connection = null)
    {
        $this->stockJob = $job;
        $this->queue    = $job->getQueue();
        $this->v3       = method_exists(\think\queue\Job::class, 'getJobId');
        if ($this->v3) {
            $this->app        = $app;
            $this->connection = $connection;
        }
    }

    public function fire()
    {
        if ($this->v3) {
            return parent::fire();
        }
        $this->resolveAndFire(json_decode($this->getRawBody(), true));
    }

    public function attempts()
    {
        return $this->stockJob->attempts();
    }

    public function getRawBody()
    {
        return $this->stockJob->getRawBody();
    }

    public function getJobId()
    {
        return $this->stockJob->getJobId();
    }

    public function getReservedJob()
    {
        return $this->stockJob->getReservedBody();
    }

    public function delete()
    {
        parent::delete();
        $this->stockJob->delete();
    }

    public function release($delay = 0)
    {
        parent::release($delay);
        if (!$this->v3) {
            parent::delete(); // 1.x's release() deletes first (StockJob::release does the ZREM)
        }
        $this->stockJob->release($delay);
    }
}
