<?php
namespace think;

use think\helper\Str;

// think-queue 1.x facade: builds one connector per process from Config::get('queue') (the whole
// array goes to the constructor), caches it for good, forwards every static call to it.
class Queue
{
    protected static $connector;

    private static function buildConnector()
    {
        $options = Config::get('queue');
        $type    = empty($options['connector']) ? 'Sync' : $options['connector'];

        if (!isset(self::$connector)) {
            $class = strpos($type, '\\') !== false ? $type : '\\think\\queue\\connector\\' . Str::studly($type);

            self::$connector = new $class($options);
        }

        return self::$connector;
    }

    public static function __callStatic($name, $arguments)
    {
        return call_user_func_array([self::buildConnector(), $name], $arguments);
    }
}
