<?php
namespace think\queue\command;

// Stand-in only: thrown where the stock worker calls exit($status); getCode() is the status.
class WorkerStopped extends \RuntimeException
{
}
