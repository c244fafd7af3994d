<?php
namespace think;

// Static proxy to an object of the container.
abstract class Facade
{
    abstract protected static function getFacadeClass();

    public static function __callStatic($method, $params)
    {
        return App::getInstance()->make(static::getFacadeClass())->$method(...$params);
    }
}
