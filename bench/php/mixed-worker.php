<?php
/*
 * The PHP half of `make demo`'s mixed part: a ThinkPHP 6 app's think-queue 3.x worker (the
 * stand-ins of tests/php/v3/thinkqueue, with config/queue.php changed in one word to the shim
 * connector) runs `queue:work --once` until the queue is empty; its job class app\job\Hello
 * prints what it received, as PHP values. The jobs were pushed by a Rust service
 * (examples/producer.rs).
 *
 *   REDIS_PORT=6379 php -d extension=target/release/libthink_queue_native.so bench/php/mixed-worker.php QUEUE
 *
 * Exit status: 0 when every job ran and the queue is left empty; 1 otherwise; 2 on usage errors.
 */

declare(strict_types=1);

namespace app\job {

    use think\queue\Job;

    /** A handler as the think-queue documentation writes them. */
    class Hello
    {
        public function fire(Job $job, $data)
        {
            $this->show($job, 'fire', $data);
            $job->delete();
        }

        public function greet(Job $job, $data)
        {
            $this->show($job, 'greet', $data);
            $job->delete();
        }

        private function show(Job $job, string $method, $data): void
        {
            \tqn\demo\Seen::$jobs++;
            printf("   PHP %s::%s() [%s] attempt %d received %s\n", self::class, $method, $job->getJobId(), $job->attempts(), \tqn\demo\literal($data));
        }
    }
}

namespace tqn\demo {

    final class Seen
    {
        public static int $jobs = 0;
    }

    /** A PHP value as short PHP source: lists without keys, int keys bare, floats as var_export writes them. */
    function literal($v): string
    {
        if (is_array($v)) {
            $list  = array_is_list($v);
            $parts = [];
            foreach ($v as $k => $item) {
                $parts[] = ($list ? '' : var_export($k, true) . ' => ') . literal($item);
            }

            return '[' . implode(', ', $parts) . ']';
        }

        return $v === null ? 'null' : var_export($v, true);
    }

    $queue = $argv[1] ?? '';
    $port  = (int) (getenv('REDIS_PORT') ?: 0);
    if ($queue === '' || $port === 0) {
        fwrite(STDERR, "usage: REDIS_PORT=N php -d extension=... bench/php/mixed-worker.php QUEUE\n");
        exit(2);
    }
    $root = dirname(__DIR__, 2);
    require $root . '/tests/php/v3/thinkqueue/load.php'; // think-queue 3.x (stand-ins)
    require $root . '/php/autoload.php';                 // the shims

    $app = new \think\App();
    $app->instance('config', (new \think\Config())->set([
        'default'     => 'redis',
        'connections' => [
            'redis' => [
                'type'       => 'think\queue\native\connector\Redis', // was 'redis'
                'queue'      => 'default',
                'host'       => getenv('REDIS_HOST') ?: '127.0.0.1',
                'port'       => $port,
                'password'   => getenv('REDIS_PASSWORD') ?: '',
                'select'     => 0,
                'timeout'    => 0,
                'persistent' => false,
            ],
        ],
        'failed'      => ['type' => 'none', 'table' => 'failed_jobs'],
    ], 'queue'));
    $app->bind('event', \think\Event::class);
    $app->bind('cache', \think\Cache::class);
    (new \think\queue\Service($app))->register();

    $worker = $app->make(\think\queue\Worker::class);
    $redis  = $app->make(\think\Queue::class)->connection('redis');
    do {
        $before = Seen::$jobs;
        $worker->runNextJob('redis', $queue, 0, 0, 0); // php think queue:work --once --queue QUEUE
    } while (Seen::$jobs > $before);

    $reported = $app->make(\think\exception\Handle::class)->reported;
    $left     = $redis->size($queue);
    printf("   PHP worker: %d jobs run, %d errors, %d left in the queue\n", Seen::$jobs, count($reported), $left);
    exit($reported === [] && $left === 0 && Seen::$jobs > 0 ? 0 : 1);
}
