<?php
namespace think\queue;

// Properties object jobs carry along (serialized with the command; push/later do not read them).
trait Queueable
{
    public $connection;

    public $queue;

    public $delay;

    public function onConnection($connection)
    {
        $this->connection = $connection;

        return $this;
    }

    public function onQueue($queue)
    {
        $this->queue = $queue;

        return $this;
    }

    public function delay($delay)
    {
        $this->delay = $delay;

        return $this;
    }
}
