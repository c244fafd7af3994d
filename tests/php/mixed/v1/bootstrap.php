<?php
/*
 * Mixed Rust/PHP suite, think-queue 1.x/2.x generation: the v1 suite's bootstrap (its think-queue
 * stand-ins, the shims, the private redis-server, and a ThinkPHP 5 queue config changed in one
 * word to 'connector' => 'think\queue\native\connector\Redis'), then the helper that runs the
 * Rust side (the tqn binary, the producer and worker examples).
 */

declare(strict_types=1);

require __DIR__ . '/../../v1/bootstrap.php';
require __DIR__ . '/../support/Rust.php';
require __DIR__ . '/../support/MixedCases.php';
