<?php
namespace think\queue;

use think\App;
use think\helper\Arr;
use think\helper\Str;

// think-queue 3.x job base. fire() resolves the handler through the container, a new instance
// per job with the payload data as first untyped constructor argument: `Name` -> method fire,
// `Name@method`; names without a backslash live in <app namespace>\job\Studly(name). A class
// that does not exist throws. failed($e) calls the handler's failed($data, $e) if it has one.
abstract class Job
{
    private $instance;

    private $payload;

    /** @var App */
    protected $app;

    protected $queue;

    protected $connection;

    protected $deleted = false;

    protected $released = false;

    protected $failed = false;

    abstract public function getJobId();

    abstract public function attempts();

    abstract public function getRawBody();

    // Decoded raw body (cached); one key, or a dot path, with a default.
    public function payload($name = null, $default = null)
    {
        if (empty($this->payload)) {
            $this->payload = json_decode($this->getRawBody(), true);
        }
        if (empty($name)) {
            return $this->payload;
        }

        return Arr::get($this->payload, $name, $default);
    }

    public function fire()
    {
        $instance = $this->getResolvedJob();

        [, $method] = $this->getParsedJob();

        $instance->{$method}($this, $this->payload('data'));
    }

    public function failed($e)
    {
        $instance = $this->getResolvedJob();

        if (method_exists($instance, 'failed')) {
            $instance->failed($this->payload('data'), $e);
        }
    }

    public function delete()
    {
        $this->deleted = true;
    }

    public function isDeleted()
    {
        return $this->deleted;
    }

    public function release($delay = 0)
    {
        $this->released = true;
    }

    public function isReleased()
    {
        return $this->released;
    }

    public function isDeletedOrReleased()
    {
        return $this->isDeleted() || $this->isReleased();
    }

    protected function getParsedJob()
    {
        $parts = explode('@', $this->payload('job'));

        return count($parts) > 1 ? $parts : [$parts[0], 'fire'];
    }

    protected function resolve($name, $param)
    {
        $class = strpos($name, '\\') !== false ? $name : $this->app->getNamespace() . '\\job\\' . Str::studly($name);

        return $this->app->make($class, [$param], true);
    }

    public function getResolvedJob()
    {
        if (empty($this->instance)) {
            [$class] = $this->getParsedJob();

            $this->instance = $this->resolve($class, $this->payload('data'));
        }

        return $this->instance;
    }

    public function hasFailed()
    {
        return $this->failed;
    }

    public function markAsFailed()
    {
        $this->failed = true;
    }

    public function maxTries()
    {
        return $this->payload('maxTries');
    }

    public function timeout()
    {
        return $this->payload('timeout');
    }

    public function timeoutAt()
    {
        return $this->payload('timeoutAt');
    }

    public function getName()
    {
        return $this->payload('job');
    }

    public function getConnection()
    {
        return $this->connection;
    }

    public function getQueue()
    {
        return $this->queue;
    }
}
