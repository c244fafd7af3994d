<?php
/*
 * A redis-server of the tests' own: started on a free loopback port with no persistence
 * (--save '' --appendonly no) in a fresh temporary --dir, ready once it answers PING.
 *
 * Stopped by its PID only (never by name): by stop(), by a shutdown function (which PHP also runs
 * after a fatal error or exit()), on SIGINT/SIGTERM/SIGHUP, and by a watchdog shell that kills it
 * if the PHP process that started it disappears without running its shutdown functions.
 * A forked child never stops its parent's servers.
 */

declare(strict_types=1);

namespace tqn\tests\support;

final class PrivateRedis
{
    /** @var self[] */
    private static array $running = [];
    private static bool $hooked = false;

    /** @var int set once by start() (not readonly: the suites also run on PHP 7.4) */
    public int $port;
    private int $pid = 0;
    private int $watchdogPid = 0;
    /** @var resource|null */
    private $process;
    /** @var resource|null */
    private $watchdog;
    private string $dir;
    private int $ownerPid;

    /** @param string[] $extraArgs more redis-server arguments, e.g. ['--requirepass', 'secret'] */
    public static function start(array $extraArgs = []): self
    {
        $binary = trim((string) shell_exec('command -v redis-server 2>/dev/null'));
        if ($binary === '') {
            throw new \RuntimeException('redis-server not found (Debian: apt-get install redis-server)');
        }
        self::hookShutdown();
        $log = '';
        for ($attempt = 0; $attempt < 10; $attempt++) {
            $server = new self($binary, self::freePort(), $extraArgs);
            if ($server->waitForPing()) {
                return $server;
            }
            $log = (string) @file_get_contents($server->dir . '/server.log');
            $server->stop();
        }
        throw new \RuntimeException("could not start a private redis-server; last log:\n" . $log);
    }

    private function __construct(string $binary, int $port, array $extraArgs)
    {
        $this->port     = $port;
        $this->ownerPid = getmypid();
        $this->dir      = sys_get_temp_dir() . '/tqn-php-redis-' . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!mkdir($this->dir, 0700)) {
            throw new \RuntimeException('cannot create ' . $this->dir);
        }
        $log  = $this->dir . '/server.log';
        $argv = array_merge(
            [$binary, '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--dir', $this->dir, '--daemonize', 'no', '--protected-mode', 'no'],
            $extraArgs
        );
        $proc = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start redis-server');
        }
        $this->process = $proc;
        $this->pid     = (int) proc_get_status($proc)['pid'];
        self::$running[spl_object_id($this)] = $this;
        $this->startWatchdog();
    }

    public function pid(): int
    {
        return $this->pid;
    }

    public function stop(): void
    {
        if (getmypid() !== $this->ownerPid) {
            return; // a forked child must not stop its parent's server
        }
        unset(self::$running[spl_object_id($this)]);
        if ($this->watchdog !== null) {
            if (proc_get_status($this->watchdog)['running']) {
                posix_kill($this->watchdogPid, SIGKILL);
            }
            proc_close($this->watchdog);
            $this->watchdog = null;
        }
        if ($this->process !== null) {
            if (proc_get_status($this->process)['running']) {
                posix_kill($this->pid, SIGTERM);
                for ($i = 0; $i < 100 && proc_get_status($this->process)['running']; $i++) {
                    usleep(20000);
                }
                if (proc_get_status($this->process)['running']) {
                    posix_kill($this->pid, SIGKILL);
                }
            }
            proc_close($this->process);
            $this->process = null;
        }
        if (is_dir($this->dir)) {
            foreach (glob($this->dir . '/*') ?: [] as $file) {
                @unlink($file);
            }
            @rmdir($this->dir);
        }
    }

    public static function stopAll(): void
    {
        foreach (self::$running as $server) {
            $server->stop();
        }
    }

    private static function hookShutdown(): void
    {
        if (self::$hooked) {
            return;
        }
        self::$hooked = true;
        register_shutdown_function([self::class, 'stopAll']);
        if (function_exists('pcntl_async_signals')) {
            pcntl_async_signals(true);
            foreach ([SIGINT, SIGTERM, SIGHUP] as $signal) {
                pcntl_signal($signal, static function (int $signo): void {
                    exit(128 + $signo); // runs the shutdown functions
                });
            }
        }
    }

    /** Kills the server if this PHP process dies without running its shutdown functions. */
    private function startWatchdog(): void
    {
        $script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; '
            . 'if tr "\0" " " < /proc/"$2"/cmdline 2>/dev/null | grep -q redis-server; then kill "$2"; fi';
        $proc = proc_open(
            ['sh', '-c', $script, 'tqn-php-redis-watchdog', (string) getmypid(), (string) $this->pid],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        if (is_resource($proc)) {
            $this->watchdog    = $proc;
            $this->watchdogPid = (int) proc_get_status($proc)['pid'];
        }
    }

    private function waitForPing(): bool
    {
        for ($i = 0; $i < 100; $i++) {
            if (!proc_get_status($this->process)['running']) {
                return false;
            }
            try {
                $redis = new \Redis();
                if (@$redis->connect('127.0.0.1', $this->port, 0.5)) {
                    $pong = $redis->ping();
                    $redis->close();
                    if ($pong === true || $pong === '+PONG' || $pong === 'PONG') {
                        return true;
                    }
                }
            } catch (\RedisException $e) {
                if (strpos($e->getMessage(), 'NOAUTH') !== false) {
                    return true; // a --requirepass server answering: it is up
                }
            }
            usleep(50000);
        }

        return false;
    }

    public static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($socket === false) {
            return random_int(20000, 60000);
        }
        $name = (string) stream_socket_get_name($socket, false);
        fclose($socket);

        return (int) substr($name, strrpos($name, ':') + 1);
    }
}
