<?php
namespace think\queue;

use think\App;

// think-queue 1.x job base. Handlers are plain classes: `Name` (method fire), `Name@method`;
// short names live under App::$namespace ('Module/Name' -> app\module\job\Name, 'Name' ->
// app\job\Name), names with a backslash are used as they are. A class that does not exist makes
// fire()/failed() do nothing.
abstract class Job
{
    protected $instance;

    protected $queue;

    protected $deleted = false;

    protected $released = false;

    abstract public function fire();

    abstract public function attempts();

    abstract public function getRawBody();

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

    protected function resolveAndFire(array $payload)
    {
        [$class, $method] = $this->parseJob($payload['job']);

        $this->instance = $this->resolve($class);
        if ($this->instance) {
            $this->instance->{$method}($this, $payload['data']);
        }
    }

    protected function parseJob($job)
    {
        $parts = explode('@', $job);

        return count($parts) > 1 ? $parts : [$parts[0], 'fire'];
    }

    protected function resolve($name)
    {
        if (strpos($name, '\\') === false) {
            $module = '';
            if (strpos($name, '/') !== false) {
                [$module, $name] = explode('/', $name, 2);
            }
            $name = App::$namespace . ($module === '' ? '' : '\\' . strtolower($module)) . '\\job\\' . $name;
        }

        return class_exists($name) ? new $name() : null;
    }

    // Called by the worker once the job ran out of tries: the handler's failed($data), if it has one.
    public function failed()
    {
        $payload = json_decode($this->getRawBody(), true);

        [$class] = $this->parseJob($payload['job']);

        $this->instance = $this->resolve($class);
        if ($this->instance && method_exists($this->instance, 'failed')) {
            $this->instance->failed($payload['data']);
        }
    }

    public function getName()
    {
        return json_decode($this->getRawBody(), true)['job'];
    }

    public function getQueue()
    {
        return $this->queue;
    }
}
