<?php
namespace think;

use InvalidArgumentException;
use think\helper\Str;

// ThinkPHP 6 driver manager: one cached driver per name; the class is the `type` when it holds
// a backslash, else $namespace . Studly(type); built with invokeClass(class, [config]).
abstract class Manager
{
    protected $app;

    protected $drivers = [];

    protected $namespace = null;

    public function __construct(App $app)
    {
        $this->app = $app;
    }

    protected function driver($name = null)
    {
        $name = $name ?: $this->getDefaultDriver();
        if ($name === null) {
            throw new InvalidArgumentException(sprintf('Unable to resolve NULL driver for [%s].', static::class));
        }

        return $this->drivers[$name] = $this->drivers[$name] ?? $this->createDriver($name);
    }

    protected function resolveType(string $name)
    {
        return $name;
    }

    protected function resolveConfig(string $name)
    {
        return $name;
    }

    protected function resolveClass(string $type)
    {
        $class = strpos($type, '\\') !== false ? $type : $this->namespace . Str::studly($type);
        if (class_exists($class)) {
            return $class;
        }

        throw new InvalidArgumentException("Driver [$type] not supported.");
    }

    protected function createDriver(string $name)
    {
        $type   = $this->resolveType($name);
        $method = 'create' . Str::studly($type) . 'Driver';
        $params = [$this->resolveConfig($name)];
        if (method_exists($this, $method)) {
            return $this->$method(...$params);
        }

        return $this->app->invokeClass($this->resolveClass($type), $params);
    }

    public function forgetDriver($name = null)
    {
        foreach ((array) ($name ?: $this->getDefaultDriver()) as $one) {
            unset($this->drivers[$one]);
        }

        return $this;
    }

    abstract public function getDefaultDriver();

    public function __call($method, $parameters)
    {
        return $this->driver()->$method(...$parameters);
    }
}
