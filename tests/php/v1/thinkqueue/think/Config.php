<?php
namespace think;

// In-memory config with the one read think-queue 1.x does: Config::get('queue').
class Config
{
    private static $items = [];

    public static function get($name = null)
    {
        return $name === null ? self::$items : (self::$items[$name] ?? null);
    }

    public static function set($name, $value)
    {
        self::$items[$name] = $value;
    }
}
