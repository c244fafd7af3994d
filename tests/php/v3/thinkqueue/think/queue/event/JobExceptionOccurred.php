<?php
namespace think\queue\event;

class JobExceptionOccurred
{
    public $connectionName;

    public $job;

    public $exception;

    public function __construct($connectionName, $job, $exception)
    {
        $this->connectionName = $connectionName;
        $this->job            = $job;
        $this->exception      = $exception;
    }
}
