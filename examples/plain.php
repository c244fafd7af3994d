<?php
// A plain PHP script without ThinkPHP: push and consume think-queue jobs with the extension's own
// classes. Quoted in README.md; tests/php/native/ExamplesTest.php runs it.
//   php -d extension=target/release/libthink_queue_native.so examples/plain.php [port]
use think\queue\native\RedisQueue;

$queue = new RedisQueue([
    'host' => '127.0.0.1',
    'port' => (int) ($argv[1] ?? 6379),
    'dialect' => 'v3',          // 'v1' for queues shared with ThinkPHP 5.0/5.1 workers
    'retry_after' => 60,
]);
$id = $queue->push('app\job\SendSms', ['mobile' => '13800000000'], 'sms');
$queue->later(60, 'app\job\Remind', ['id' => 7], 'sms');

while ($job = $queue->pop('sms')) {
    printf("%s #%d %s %s\n", $job->getName(), $job->attempts(), $job->getJobId(), json_encode($job->getData()));
    $queue->deleteReserved($job);   // or $queue->release($job, 10) to try again in 10 s
}
printf("pushed %s; left: %s\n", $id, json_encode($queue->sizes('sms')));
