<?php
/*
 * Raw extension API suite: no think-queue classes at all, only the shared bootstrap (extension
 * check, private redis-server).
 */

declare(strict_types=1);

require __DIR__ . '/../support/bootstrap.php';
