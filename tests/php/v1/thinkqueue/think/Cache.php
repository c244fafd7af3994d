<?php
namespace think;

// In-memory cache: the worker reads 'think:queue:restart', queue:restart writes it.
class Cache
{
    private static $items = [];

    public static function get($name, $default = false)
    {
        return array_key_exists($name, self::$items) ? self::$items[$name] : $default;
    }

    public static function set($name, $value)
    {
        self::$items[$name] = $value;

        return true;
    }

    public static function reset()
    {
        self::$items = [];
    }
}
