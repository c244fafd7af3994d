<?php
/*
 * think-queue job backed by a think\queue\native\ReservedJob; created by
 * think\queue\native\connector\Redis::pop().
 *
 * One class for both think-queue generations: every method declared here has a signature that
 * both think\queue\Job bases (1.x/2.x and 3.x) accept. Handler resolution and failed() are the
 * installed base class's own (1.x/2.x: `Class`/`Module/Class`/`Class@method` under the app
 * namespace, a missing class does nothing; 3.x: through the container, Str::studly names), so
 * handlers behave exactly as with the stock Redis job.
 */

namespace think\queue\native\job;

use DateInterval;
use DateTimeImmutable;
use DateTimeInterface;
use think\queue\Job;
use think\queue\native\RedisQueue;
use think\queue\native\ReservedJob;

class Redis extends Job
{
    /** @var RedisQueue */
    private $redisQueue;

    /** @var ReservedJob */
    private $reservedJob;

    /** @var bool the installed base class is think-queue 3.x's */
    private $v3;

    /**
     * @param string|null $queue      1.x/2.x: the resolved queue name; 3.x: the pop() argument as given
     * @param \think\App|null $app    3.x only
     * @param string|null $connection 3.x only: the connection name
     */
    public function __construct(RedisQueue $redisQueue, ReservedJob $reservedJob, $queue, $app = null, $connection = null)
    {
        $this->redisQueue  = $redisQueue;
        $this->reservedJob = $reservedJob;
        $this->queue       = $queue;
        $this->v3          = method_exists(Job::class, 'getJobId');
        if ($this->v3) {
            $this->app        = $app;
            $this->connection = $connection;
        }
    }

    /** Runs the handler: `$handler->{fire|method}($this, $data)`, resolved as the installed think-queue does. */
    public function fire()
    {
        if ($this->v3) {
            return parent::fire();
        }
        $this->resolveAndFire(json_decode($this->getRawBody(), true));
    }

    /** 1.x/2.x: the payload's attempts; 3.x: the payload's attempts + 1 (1 on the first run). */
    public function attempts()
    {
        return $this->reservedJob->attempts();
    }

    /** The payload bytes as they were in the ready list. */
    public function getRawBody()
    {
        return $this->reservedJob->getRawBody();
    }

    /** The payload's "id" (abstract in 3.x; also offered under 1.x/2.x). */
    public function getJobId()
    {
        return $this->reservedJob->getJobId();
    }

    /** The member of the reserved set (3.x name; 1.x/2.x: the raw body). */
    public function getReservedJob()
    {
        return $this->reservedJob->getReservedBody();
    }

    /** Acknowledges the job: removes its reservation. */
    public function delete()
    {
        parent::delete();

        $this->redisQueue->deleteReserved($this->reservedJob);
    }

    /**
     * Puts the job back, due after $delay seconds (3.x also takes a DateTimeInterface or a
     * DateInterval), in one atomic step. 1.x/2.x mark the job deleted too, as stock does.
     * Does nothing in Redis when the reservation is gone (expired and handed out again, or deleted).
     *
     * @param int|DateTimeInterface|DateInterval $delay
     */
    public function release($delay = 0)
    {
        parent::release($delay);
        if (!$this->v3) {
            parent::delete();
        }

        if ($delay instanceof DateInterval) {
            $delay = (new DateTimeImmutable())->add($delay);
        }
        if ($delay instanceof DateTimeInterface) {
            $delay = $delay->getTimestamp() - time();
        }
        $this->redisQueue->release($this->reservedJob, max(0, (int) $delay));
    }
}
