<?php
namespace think\exception;

// Exception reporter of the worker daemon; records what it was given.
class Handle
{
    public static $reported = [];

    public function report($exception)
    {
        self::$reported[] = $exception;
    }
}
