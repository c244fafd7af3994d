<?php
/*
 * Mixed Rust/PHP suite, think-queue 3.x generation: the v3 suite's bootstrap (its think-queue
 * stand-ins, the shims, the private redis-server, and V3TestCase, whose app has the queue config
 * with 'type' => 'think\queue\native\connector\Redis'), then the helper that runs the
 * Rust side (the tqn binary, the producer and worker examples).
 */

declare(strict_types=1);

require __DIR__ . '/../../v3/bootstrap.php';
require __DIR__ . '/../support/Rust.php';
require __DIR__ . '/../support/MixedCases.php';
