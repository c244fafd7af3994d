<?php
namespace think\queue\event;

class WorkerStopping
{
    public $status;

    public function __construct($status = 0)
    {
        $this->status = $status;
    }
}
