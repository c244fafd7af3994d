<?php
/*
 * The job handler the native (think-queue stand-in) workers fire, written as the ThinkPHP docs
 * show a job class: fire(Job $job, $data) does the work and deletes the job. The "work" is
 * chaos\handle(): record the delivery in Redis (chaos:seen, chaos:log, chaos:lat), spend the
 * milliseconds the job data asks for, then $job->delete().
 */

declare(strict_types=1);

namespace app\job;

use think\queue\Job;

class Chaos
{
    public function fire(Job $job, $data)
    {
        \chaos\handle($job, $data, 'native');
    }

    public function failed($data, $e = null)
    {
        // 3.x calls failed($data, $e), 1.x failed($data); the worker's failed path is recorded by
        // the JobFailed listener / queue_failed hook (chaos/v3.php, chaos/v1.php)
    }
}
