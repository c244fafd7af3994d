<?php
namespace think\queue\event;

class JobProcessing
{
    public $connection;

    public $job;

    public function __construct($connection, $job)
    {
        $this->connection = $connection;
        $this->job        = $job;
    }
}
