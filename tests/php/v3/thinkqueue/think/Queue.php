<?php
namespace think;

// think-queue 3.x manager: connection <name> is built from config queue.connections.<name>
// (type, default 'sync'), then given the app and its connection name.
class Queue extends Manager
{
    protected $namespace = '\\think\\queue\\connector\\';

    protected function resolveType(string $name)
    {
        return $this->app->config->get("queue.connections.{$name}.type", 'sync');
    }

    protected function resolveConfig(string $name)
    {
        return $this->app->config->get("queue.connections.{$name}");
    }

    protected function createDriver(string $name)
    {
        return parent::createDriver($name)->setApp($this->app)->setConnection($name);
    }

    public function connection($name = null)
    {
        return $this->driver($name);
    }

    public function getDefaultDriver()
    {
        return $this->app->config->get('queue.default');
    }
}
