<?php
/*
 * Shared part of the PHPUnit bootstraps (v1, v3, native). The caller loads its think-queue
 * stand-ins first (or none), then this file:
 *  - fails loudly unless the backend under test (the think_queue_native extension, or with
 *    TQN_BACKEND=ffi the FFI library named by THINK_QUEUE_NATIVE_FFI) and phpredis (the tests' own
 *    client and the stock baseline's) are there;
 *  - loads the shims (php/autoload.php), the stock baseline (bench/php/StockRedisQueue.php), the
 *    test support classes and the job fixtures (PSR-4 `app\` -> tests/php/fixtures/app/);
 *  - starts a private redis-server: TQN_REDIS_PORT;
 *  - TQN_EXT_SO: the path of the loaded extension (for subprocess tests).
 */

declare(strict_types=1);

// TQN_BACKEND=ffi: the suite runs on the FFI bridge (THINK_QUEUE_NATIVE_FFI names the library),
// so the extension must not be loaded; otherwise on the extension, which must be.
define('TQN_BACKEND', getenv('TQN_BACKEND') === 'ffi' ? 'ffi' : 'extension');
if (TQN_BACKEND === 'ffi') {
    if (extension_loaded('think_queue_native') || !is_string(getenv('THINK_QUEUE_NATIVE_FFI'))) {
        fwrite(STDERR, "TQN_BACKEND=ffi needs THINK_QUEUE_NATIVE_FFI=/path/to/libthink_queue_native_ffi.so and no think_queue_native extension loaded\n");
        exit(1);
    }
} elseif (!extension_loaded('think_queue_native')) {
    fwrite(STDERR, "the think_queue_native extension is not loaded: run with\n"
        . "  php -d extension=target/release/libthink_queue_native.so /usr/bin/phpunit -c <suite>/phpunit.xml\n"
        . "(scripts/test-php.sh does this after `make` built the extension; TQN_BACKEND=ffi for the FFI bridge)\n");
    exit(1);
}
if (!extension_loaded('redis')) {
    fwrite(STDERR, "the PHP tests need ext-redis (Debian: php-redis) for their own Redis client and the stock baseline\n");
    exit(1);
}

define('TQN_ROOT', dirname(__DIR__, 3));

require TQN_ROOT . '/php/autoload.php';
require TQN_ROOT . '/bench/php/StockRedisQueue.php';
require __DIR__ . '/PrivateRedis.php';
require __DIR__ . '/Recorder.php';
require __DIR__ . '/Vectors.php';
require __DIR__ . '/RedisTestCase.php';
require __DIR__ . '/ConnectionCases.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'app\\', 4) === 0) {
        $file = dirname(__DIR__) . '/fixtures/' . str_replace('\\', '/', $class) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

/** Path of the loaded extension: $TQN_EXT_SO, else the `-d extension=` of this process, else the build output. */
function tqn_extension_path(): string
{
    $env = getenv('TQN_EXT_SO');
    if (is_string($env) && $env !== '') {
        return $env;
    }
    $cmdline = (string) @file_get_contents('/proc/self/cmdline');
    $args = explode("\0", $cmdline);
    foreach ($args as $i => $arg) {
        $value = null;
        if ($arg === '-d' && isset($args[$i + 1])) {
            $value = $args[$i + 1];
        } elseif (strncmp($arg, '-d', 2) === 0) {
            $value = substr($arg, 2);
        }
        if ($value !== null && preg_match('/^(?:zend_)?extension=(.*think_queue_native.*)$/', $value, $m)) {
            return realpath($m[1]) ?: $m[1];
        }
    }

    return TQN_ROOT . '/target/release/libthink_queue_native.so';
}

define('TQN_EXT_SO', tqn_extension_path());
/**
 * Whether TQN_EXT_SO is an extension this PHP can load (in the PHP 7.4 leg of the test matrix it
 * is another PHP's build, or none): checked once, in a subprocess.
 */
function tqn_extension_usable(): bool
{
    static $usable = null;
    if ($usable === null) {
        $usable = extension_loaded('think_queue_native');
        if (!$usable && is_file(TQN_EXT_SO)) {
            $cmd = escapeshellarg(PHP_BINARY) . ' -n -d ' . escapeshellarg('extension=' . TQN_EXT_SO)
                . " -r 'echo extension_loaded(\"think_queue_native\") ? 1 : 0;' 2>/dev/null";
            $usable = trim((string) shell_exec($cmd)) === '1';
        }
    }

    return $usable;
}

/** The FFI library (for the backend tests, whichever backend the suite runs on). */
define('TQN_FFI_LIB', (string) (getenv('THINK_QUEUE_NATIVE_FFI') ?: (getenv('TQN_FFI_LIB') ?: TQN_ROOT . '/target/release/libthink_queue_native_ffi.so')));
define('TQN_REDIS_PORT', \tqn\tests\support\PrivateRedis::start()->port);
