<?php
namespace think\queue\command;

use think\App;
use think\queue\event\JobFailed;
use think\queue\event\JobProcessed;
use think\queue\event\JobProcessing;
use think\queue\Job;
use think\queue\Worker;

// `php think queue:work [connection]` of think-queue 3.x without the console plumbing: options
// as an array with the stock names and defaults. It prints Processing/Processed/Failed lines and
// hands every JobFailed to the failer (queue.failer->log(connection, queue, raw body, exception)).
class Work
{
    protected $app;

    protected $worker;

    /** @var string[] lines the stock command prints (without the date) */
    public $output = [];

    public function __construct(App $app, Worker $worker)
    {
        $this->app    = $app;
        $this->worker = $worker;
    }

    public function execute($connection = null, array $options = [])
    {
        $connection = $connection ?: $this->app->config->get('queue.default');
        $options += ['queue' => null, 'once' => false, 'delay' => 0, 'memory' => 128, 'timeout' => 60, 'sleep' => 3, 'tries' => 0];
        $queue = $options['queue'] ?: $this->app->config->get("queue.connections.{$connection}.queue", 'default');

        $this->listenForEvents();

        if ($options['once']) {
            $this->worker->runNextJob($connection, $queue, $options['delay'], $options['sleep'], $options['tries']);
        } else {
            $this->worker->daemon($connection, $queue, $options['delay'], $options['sleep'], $options['tries'],
                $options['memory'], $options['timeout']);
        }
    }

    protected function listenForEvents()
    {
        $this->app->event->listen(JobProcessing::class, function (JobProcessing $event) {
            $this->writeStatus($event->job, 'Processing');
        });
        $this->app->event->listen(JobProcessed::class, function (JobProcessed $event) {
            $this->writeStatus($event->job, 'Processed');
        });
        $this->app->event->listen(JobFailed::class, function (JobFailed $event) {
            $this->writeStatus($event->job, 'Failed');
            $this->app['queue.failer']->log($event->connection, $event->job->getQueue(), $event->job->getRawBody(), $event->exception);
        });
    }

    protected function writeStatus(Job $job, $status)
    {
        $this->output[] = sprintf('[%s] %s %s', $job->getJobId(), str_pad($status . ':', 11), $job->getName());
    }
}
