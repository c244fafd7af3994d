<?php
/*
 * Autoloader for applications without Composer: maps the PSR-4 root `think\queue\native\` to
 * php/src/. With Composer, the root composer.json declares the same mapping and this file is not
 * needed.
 *
 *     require '/path/to/think-queue-native/php/autoload.php';
 *
 * The native classes of the same namespace (RedisQueue, ReservedJob, the exceptions) come from the
 * extension, not from here: extension=think_queue_native.so must be loaded.
 */

spl_autoload_register(static function (string $class): void {
    $prefix = 'think\\queue\\native\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
