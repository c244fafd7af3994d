<?php
// Loads the think-queue 3.x stand-ins: PSR-4 `think\` -> ./think/ (only for files that exist here,
// so the shims under think\queue\native\ still come from php/src), plus the queue() helper.
spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'think\\', 6) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', $class) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
require __DIR__ . '/helpers.php';
