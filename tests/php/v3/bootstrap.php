<?php
/*
 * think-queue 3.x suite: the 3.x stand-ins (App container, Config, Event, Manager, think\Queue,
 * facade, Connector, Job, Worker, ...), then the shared bootstrap (extension check, shims, stock
 * baseline, private redis-server). Each test builds a fresh app (V3TestCase::setUp) whose
 * config/queue.php is the stock one with the one changed word:
 *     'connections' => ['redis' => ['type' => 'think\queue\native\connector\Redis', ...]].
 */

declare(strict_types=1);

require __DIR__ . '/thinkqueue/load.php';
require __DIR__ . '/../support/bootstrap.php';
require __DIR__ . '/V3TestCase.php';
