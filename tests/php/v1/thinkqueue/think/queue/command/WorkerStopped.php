<?php
namespace think\queue\command;

// Stand-in only: thrown where the stock daemon calls `die`, so a test process survives the stop.
class WorkerStopped extends \RuntimeException
{
}
