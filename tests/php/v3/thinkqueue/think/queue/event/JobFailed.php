<?php
namespace think\queue\event;

class JobFailed
{
    public $connection;

    public $job;

    public $exception;

    public function __construct($connection, $job, $exception)
    {
        $this->connection = $connection;
        $this->job        = $job;
        $this->exception  = $exception;
    }
}
