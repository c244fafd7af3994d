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
 *
 * Malformed payloads (not a JSON object, no integer `attempts`, no string `job`: bad data put in
 * Redis by hand or by a foreign producer) never reach a handler and never loop. Every accessor
 * the stock worker calls answers without throwing (attempts() 1, 3.x maxTries() 1, getName()
 * '(malformed payload)'), and fire() moves the member to the dead-letter list `<ready>:dead`
 * (RedisQueue::bury, raw bytes kept) and throws a MalformedPayloadException naming the queue and
 * the problem, so the unchanged worker takes its failed path:
 *   3.x: attempts() >= maxTries() makes process() fail the job (JobFailed, failer log of the raw
 *        body with this exception); delete() and failed() are then harmless.
 *   1.x/2.x: fire() marks the job deleted (the worker must not release it), runs the failed path
 *        1.x offers (failed(), the `queue_failed` hook), then throws; the worker reports it.
 * delete(), release() and failed() of a malformed job bury it too, whatever path gets there first.
 */

namespace think\queue\native\job;

use DateInterval;
use DateTimeImmutable;
use DateTimeInterface;
use think\queue\Job;
use think\queue\native\MalformedPayloadException;
use think\queue\native\RedisQueue;
use think\queue\native\ReservedJob;

class Redis extends Job
{
    /** What getName() answers for a malformed payload (the worker prints it). */
    const MALFORMED_NAME = '(malformed payload)';

    /** @var RedisQueue */
    private $redisQueue;

    /** @var ReservedJob */
    private $reservedJob;

    /** @var bool the installed base class is think-queue 3.x's */
    private $v3;

    /** @var MalformedPayloadException|false|null why the payload is malformed; false: it is not; null: not checked yet */
    private $malformed;

    /** @var bool|null result of bury(): true moved to `<ready>:dead`, false the reservation was gone; null: not buried */
    private $buried;

    /** @var mixed the decoded payload, see payload(); null: not read yet */
    private $decoded;

    /** @var bool delete() written behind (RedisQueue::ack) instead of sent at once (deleteReserved) */
    private $deferredAck = false;

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

    /**
     * Runs the handler: `$handler->{fire|method}($this, $data)`, resolved as the installed
     * think-queue does. A malformed payload is buried instead and a MalformedPayloadException
     * thrown (see the top of this file).
     */
    public function fire()
    {
        $malformed = $this->malformedPayload();
        if ($malformed !== null) {
            $this->fireMalformed($malformed);
        }
        if ($this->v3) {
            return parent::fire();
        }
        $this->resolveAndFire($this->payload());
    }

    /**
     * The decoded payload (`json_decode($raw, true)`), as the extension decoded it once; with
     * $name, one key (3.x: a dot path, as think-queue 3.x's payload()) or $default. 3.x's base
     * class reads every field (handler name, data, maxTries...) through here; 1.x/2.x had no
     * payload() and gets one. A malformed payload: what json_decode() makes of it.
     */
    public function payload($name = null, $default = null)
    {
        if ($this->decoded === null) {
            try {
                $this->decoded = $this->reservedJob->payload();
            } catch (MalformedPayloadException $e) {
                $this->decoded = json_decode($this->getRawBody(), true);
            }
        }
        if ($name === null || $name === '') {
            return $this->decoded;
        }
        if ($this->v3 && class_exists('think\\helper\\Arr')) {
            return \think\helper\Arr::get($this->decoded, $name, $default);
        }

        return is_array($this->decoded) && array_key_exists($name, $this->decoded) ? $this->decoded[$name] : $default;
    }

    /**
     * 1.x/2.x: the payload's attempts; 3.x: the payload's attempts + 1 (1 on the first run).
     * A malformed payload: 1, so the worker runs fire(), which buries it.
     */
    public function attempts()
    {
        return $this->malformedPayload() === null ? $this->reservedJob->attempts() : 1;
    }

    /** The payload bytes as they were in the ready list. */
    public function getRawBody()
    {
        return $this->reservedJob->getRawBody();
    }

    /**
     * The payload's "id" (abstract in 3.x; also offered under 1.x/2.x). A payload that is not a
     * JSON object has none (null); a non-string id is returned as it is, like stock.
     */
    public function getJobId()
    {
        try {
            return $this->reservedJob->getJobId();
        } catch (MalformedPayloadException $e) {
            $id = $this->payload('id');

            return is_scalar($id) ? $id : null;
        }
    }

    /** The payload's "job" (the handler name), or '(malformed payload)'. */
    public function getName()
    {
        return $this->malformedPayload() === null ? $this->reservedJob->getName() : self::MALFORMED_NAME;
    }

    /** The member of the reserved set (3.x name; 1.x/2.x: the raw body). */
    public function getReservedJob()
    {
        return $this->reservedJob->getReservedBody();
    }

    /**
     * 3.x: the payload's maxTries (null when absent). A malformed payload: 1, so that the
     * worker fails it when fire() throws, whatever --tries says.
     */
    public function maxTries()
    {
        if ($this->malformedPayload() !== null) {
            return 1;
        }

        return $this->v3 ? parent::maxTries() : $this->v1Field('maxTries');
    }

    /** 3.x: the payload's timeout (null when absent or malformed). */
    public function timeout()
    {
        if ($this->malformedPayload() !== null) {
            return null;
        }

        return $this->v3 ? parent::timeout() : $this->v1Field('timeout');
    }

    /** 3.x: the payload's timeoutAt (null when absent or malformed). */
    public function timeoutAt()
    {
        if ($this->malformedPayload() !== null) {
            return null;
        }

        return $this->v3 ? parent::timeoutAt() : $this->v1Field('timeoutAt');
    }

    /**
     * The handler's failed hook (1.x/2.x: failed($data); 3.x: failed($data, $e)), called by the
     * worker once the job is out of tries. A malformed payload has no handler to call: it is
     * buried (if it was not yet) and nothing else happens.
     *
     * @param \Throwable|null $e 3.x: why the job failed
     */
    public function failed($e = null)
    {
        if ($this->malformedPayload() !== null) {
            $this->bury();

            return;
        }
        $this->redisQueue->markFailed($this->reservedJob);
        if ($this->v3) {
            parent::failed($e);
        } else {
            parent::failed();
        }
    }

    /**
     * Whether delete() is written behind (set by the connector from its `deferred_ack` option,
     * default true). Not a think-queue API.
     *
     * @return $this
     */
    public function setDeferredAck($deferred)
    {
        $this->deferredAck = (bool) $deferred;

        return $this;
    }

    /**
     * Acknowledges the job: removes its reservation (a malformed payload: buries it).
     * With `deferred_ack` (the default) the removal is written behind: it is sent with this
     * connection's next command, normally the worker's next pop, in the same round trip (or when
     * the connector is closed or destroyed), so a job costs one round trip instead of two. Until
     * then other clients still see the job reserved; a worker killed in between leaves it to come
     * back after `expire`/`retry_after`, as a worker killed just before delete() would.
     * `'deferred_ack' => false` sends it at once.
     */
    public function delete()
    {
        parent::delete();

        if ($this->malformedPayload() !== null) {
            $this->bury();

            return;
        }
        if ($this->deferredAck) {
            $this->redisQueue->ack($this->reservedJob);
        } else {
            $this->redisQueue->deleteReserved($this->reservedJob);
        }
    }

    /**
     * Puts the job back, due after $delay seconds (3.x also takes a DateTimeInterface or a
     * DateInterval), in one atomic step. 1.x/2.x mark the job deleted too, as stock does.
     * Does nothing in Redis when the reservation is gone (expired and handed out again, or deleted).
     * A malformed payload is buried instead: running it again cannot succeed.
     *
     * @param int|DateTimeInterface|DateInterval $delay
     */
    public function release($delay = 0)
    {
        parent::release($delay);
        if (!$this->v3) {
            parent::delete();
        }

        if ($this->malformedPayload() !== null) {
            $this->bury();

            return;
        }
        if ($delay instanceof DateInterval) {
            $delay = (new DateTimeImmutable())->add($delay);
        }
        if ($delay instanceof DateTimeInterface) {
            $delay = $delay->getTimestamp() - time();
        }
        $this->redisQueue->release($this->reservedJob, max(0, (int) $delay));
    }

    /**
     * Why the payload cannot be processed, or null when it can: it must be a JSON object with a
     * string `job` and an integer `attempts` (what think-queue writes). Not think-queue API.
     *
     * @return MalformedPayloadException|null
     */
    public function malformedPayload()
    {
        if ($this->malformed === null) {
            $this->malformed = false;
            try {
                $this->reservedJob->getName();
                $this->reservedJob->attempts();
            } catch (MalformedPayloadException $e) {
                $this->malformed = $e;
            }
        }

        return $this->malformed ?: null;
    }

    /**
     * fire() of a malformed payload: bury it, then make the installed worker take its failed
     * path, and throw the reason (with where the bytes went). Never returns.
     */
    private function fireMalformed(MalformedPayloadException $reason)
    {
        $buried = $this->bury();
        $dead   = $this->redisQueue->keys($this->reservedJob->getQueue())['dead'];
        $e      = new MalformedPayloadException($reason->getMessage() . ($buried
            ? "; moved to the dead-letter list `$dead`"
            : "; its reservation was gone (expired and handed out again, or deleted), so it was not moved to `$dead`"), 0, $reason);

        if (!$this->v3) {
            // 1.x/2.x: the worker releases a job whose fire() throws unless it is deleted, and
            // has no failed event: run the failed path it offers here, then report.
            parent::delete();
            try {
                $this->failed();
            } finally {
                self::v1Hook('queue_failed', $this);
            }
        }
        // 3.x: maxTries() and attempts() are 1, so the worker fails the job on this exception.
        throw $e;
    }

    /** Moves a malformed payload from the reserved set to `<ready>:dead`, once. */
    private function bury()
    {
        if ($this->buried === null) {
            $this->buried = $this->redisQueue->bury($this->reservedJob);
        }

        return $this->buried;
    }

    /** think-queue 1.x/2.x hooks: `think\facade\Hook` (ThinkPHP 5.1), else `think\Hook` (5.0). */
    private static function v1Hook($tag, $params)
    {
        if (class_exists('think\\facade\\Hook')) {
            \think\facade\Hook::listen($tag, $params);
        } elseif (class_exists('think\\Hook')) {
            \think\Hook::listen($tag, $params);
        }
    }

    /** A top-level payload field under 1.x/2.x (whose base class has no payload()), null when absent. */
    private function v1Field($name)
    {
        return $this->payload($name);
    }
}
