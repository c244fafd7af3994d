<?php
namespace think\queue;

// Storage of failed jobs (config queue.failed.type).
abstract class FailedJob
{
    abstract public function log($connection, $queue, $payload, $exception);

    abstract public function all();

    abstract public function find($id);

    abstract public function forget($id);

    abstract public function flush();
}
