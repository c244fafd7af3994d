<?php
/*
 * think-queue 1.x/2.x suite: the 1.x stand-ins (think\Queue facade, Connector, Job, Worker, ...),
 * then the shared bootstrap (extension check, shims, stock baseline, private redis-server), then
 * the queue config a ThinkPHP 5 app would have, with the one changed word:
 *     'connector' => 'think\queue\native\connector\Redis'.
 */

declare(strict_types=1);

require __DIR__ . '/thinkqueue/load.php';
require __DIR__ . '/../support/bootstrap.php';
require __DIR__ . '/V1TestCase.php';

\think\Config::set('queue', [
    'connector'  => 'think\queue\native\connector\Redis',
    'expire'     => 60,
    'default'    => 'default',
    'host'       => '127.0.0.1',
    'port'       => TQN_REDIS_PORT,
    'password'   => '',
    'select'     => 0,
    'timeout'    => 0,
    'persistent' => false,
]);
