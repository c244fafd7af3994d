<?php
use think\facade\Queue;

// think-queue 3.x global helper: later() with a positive delay, else push(), through the facade
// (default connection); the return value is dropped.
if (!function_exists('queue')) {
    function queue($job, $data = '', $delay = 0, $queue = null)
    {
        if ($delay > 0) {
            Queue::later($delay, $job, $data, $queue);
        } else {
            Queue::push($job, $data, $queue);
        }
    }
}
