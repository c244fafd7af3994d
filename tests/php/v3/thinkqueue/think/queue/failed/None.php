<?php
namespace think\queue\failed;

use think\queue\FailedJob;

// The default failer: keeps nothing.
class None extends FailedJob
{
    public function log($connection, $queue, $payload, $exception)
    {
    }

    public function all()
    {
        return [];
    }

    public function find($id)
    {
        return null;
    }

    public function forget($id)
    {
        return true;
    }

    public function flush()
    {
    }
}
