<?php
/*
 * PHPUnit bootstrap for the baseline tests: loads bench/php/StockRedisQueue.php and starts a
 * private redis-server on a free loopback port (no persistence, a temporary --dir).
 *
 * The server is stopped by its PID only (never by name):
 *  - in a shutdown function, which PHP also runs after a fatal error or exit();
 *  - on SIGINT/SIGTERM/SIGHUP (handlers that exit, so the shutdown function runs);
 *  - by a watchdog shell started next to it, which kills that PID if this PHP process disappears
 *    without running its shutdown functions (SIGKILL, segfault), after checking that the PID is
 *    still a redis-server.
 *
 * Exposes TQN_BASELINE_REDIS_PORT (int). The tests FLUSHALL this server freely: it is theirs.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../../bench/php/StockRedisQueue.php';

if (!extension_loaded('redis')) {
    fwrite(STDERR, "the baseline tests need ext-redis (Debian: php-redis)\n");
    exit(1);
}

final class TqnPrivateRedis
{
    /** @var resource|null */
    private static $server;
    /** @var resource|null */
    private static $watchdog;
    private static int $serverPid = 0;
    private static int $watchdogPid = 0;
    private static string $dir = '';
    private static int $ownerPid = 0;

    public static function start(): int
    {
        $binary = trim((string) shell_exec('command -v redis-server 2>/dev/null'));
        if ($binary === '') {
            fwrite(STDERR, "redis-server not found (Debian: apt-get install redis-server)\n");
            exit(1);
        }
        self::$ownerPid = getmypid();
        self::$dir = sys_get_temp_dir() . '/tqn-baseline-' . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!mkdir(self::$dir, 0700)) {
            fwrite(STDERR, 'cannot create ' . self::$dir . "\n");
            exit(1);
        }
        register_shutdown_function([self::class, 'stop']);
        if (function_exists('pcntl_async_signals')) {
            pcntl_async_signals(true);
            foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
                pcntl_signal($signal, static function (int $signo): void {
                    exit(128 + $signo); // runs the shutdown functions
                });
            }
        }

        for ($attempt = 0; $attempt < 10; $attempt++) {
            $port = self::freePort();
            $log = self::$dir . '/server.log';
            $proc = proc_open(
                [$binary, '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                 '--dir', self::$dir, '--daemonize', 'no', '--protected-mode', 'no'],
                [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']],
                $pipes
            );
            if (!is_resource($proc)) {
                continue;
            }
            self::$server = $proc;
            self::$serverPid = (int) proc_get_status($proc)['pid'];
            self::startWatchdog();
            if (self::waitForPing($port)) {
                return $port;
            }
            self::stop(); // port raced away or the server failed: try another port
            @mkdir(self::$dir, 0700);
        }
        fwrite(STDERR, "could not start a private redis-server; log:\n" . @file_get_contents(self::$dir . '/server.log'));
        exit(1);
    }

    public static function stop(): void
    {
        if (getmypid() !== self::$ownerPid) {
            return; // a forked child must not stop the parent's server
        }
        if (self::$watchdog !== null) {
            if (proc_get_status(self::$watchdog)['running']) {
                posix_kill(self::$watchdogPid, SIGKILL);
            }
            proc_close(self::$watchdog);
            self::$watchdog = null;
        }
        if (self::$server !== null) {
            if (proc_get_status(self::$server)['running']) {
                posix_kill(self::$serverPid, SIGTERM);
                for ($i = 0; $i < 100 && proc_get_status(self::$server)['running']; $i++) {
                    usleep(20000);
                }
                if (proc_get_status(self::$server)['running']) {
                    posix_kill(self::$serverPid, SIGKILL);
                }
            }
            proc_close(self::$server);
            self::$server = null;
        }
        if (self::$dir !== '' && is_dir(self::$dir)) {
            foreach (glob(self::$dir . '/*') ?: [] as $file) {
                @unlink($file);
            }
            @rmdir(self::$dir);
        }
    }

    private static function startWatchdog(): void
    {
        // $1 = this PHP process, $2 = the redis-server it started, $3 = that server's temp dir
        $script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; '
            . 'if tr "\0" " " < /proc/"$2"/cmdline 2>/dev/null | grep -q redis-server; then '
            . 'kill "$2"; while kill -0 "$2" 2>/dev/null; do sleep 0.1; done; fi; rm -rf "$3"';
        $proc = proc_open(
            ['sh', '-c', $script, 'tqn-redis-watchdog', (string) getmypid(), (string) self::$serverPid, self::$dir],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        if (is_resource($proc)) {
            self::$watchdog = $proc;
            self::$watchdogPid = (int) proc_get_status($proc)['pid'];
        }
    }

    private static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($socket === false) {
            return random_int(20000, 60000);
        }
        $name = stream_socket_get_name($socket, false);
        fclose($socket);

        return (int) substr((string) $name, strrpos((string) $name, ':') + 1);
    }

    private static function waitForPing(int $port): bool
    {
        for ($i = 0; $i < 100; $i++) {
            if (!proc_get_status(self::$server)['running']) {
                return false;
            }
            try {
                $redis = new \Redis();
                if (@$redis->connect('127.0.0.1', $port, 0.5)) {
                    $pong = $redis->ping();
                    $redis->close();
                    if ($pong === true || $pong === '+PONG' || $pong === 'PONG') {
                        return true;
                    }
                }
            } catch (\RedisException $e) {
                // not listening yet
            }
            usleep(50000);
        }

        return false;
    }
}

define('TQN_BASELINE_REDIS_PORT', TqnPrivateRedis::start());
