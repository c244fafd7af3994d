<?php
namespace think\queue;

use think\helper\Arr;
use think\helper\Str;
use think\Queue;

// Container bindings of think-queue 3.x: 'queue' is the manager, 'queue.failer' the failed-job
// store named by queue.failed.type ('none' by default, or a class name).
class Service
{
    protected $app;

    public function __construct($app)
    {
        $this->app = $app;
    }

    public function register()
    {
        $this->app->bind('queue', Queue::class);
        $this->app->bind('queue.failer', function () {
            $config = $this->app->config->get('queue.failed', []);
            $type   = Arr::pull($config, 'type', 'none');
            $class  = strpos($type, '\\') !== false ? $type : '\\think\\queue\\failed\\' . Str::studly($type);

            return $this->app->invokeClass($class, [$config]);
        });
    }
}
