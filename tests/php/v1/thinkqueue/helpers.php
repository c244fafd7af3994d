<?php
// think-queue 1.x global helper: later() when a positive delay is given, else push(); the
// connector's return value is dropped.
if (!function_exists('queue')) {
    function queue($job, $data = '', $delay = 0, $queue = null)
    {
        if ($delay > 0) {
            \think\Queue::later($delay, $job, $data, $queue);
        } else {
            \think\Queue::push($job, $data, $queue);
        }
    }
}
