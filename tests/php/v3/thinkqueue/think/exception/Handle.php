<?php
namespace think\exception;

// Exception reporter used by the worker; records what it was given.
class Handle
{
    public $reported = [];

    public function report($exception)
    {
        $this->reported[] = $exception;
    }
}
