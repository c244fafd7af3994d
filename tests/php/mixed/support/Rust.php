<?php
/*
 * The Rust side of the mixed suites: runs the `tqn` binary and the examples `producer` and
 * `worker` (built without the php feature by scripts/test-php.sh: `cargo build --bin tqn
 * --example producer --example worker`) against the suite's private redis-server. Their
 * directory: $TQN_RUST_BIN_DIR, else target/debug.
 */

declare(strict_types=1);

namespace tqn\tests\mixed;

final class Rust
{
    public static function binDir(): string
    {
        $dir = getenv('TQN_RUST_BIN_DIR');

        return is_string($dir) && $dir !== '' ? $dir : TQN_ROOT . '/target/debug';
    }

    /** Path of `tqn` or of an example (`examples/producer`). */
    public static function path(string $name): string
    {
        $path = self::binDir() . '/' . $name;
        if (!is_file($path) || !is_executable($path)) {
            throw new \RuntimeException("$path is missing: build it with `cargo build --bin tqn --example producer --example worker` (scripts/test-php.sh does)");
        }

        return $path;
    }

    /** The suite's Redis as a URL. */
    public static function url(): string
    {
        return 'redis://127.0.0.1:' . TQN_REDIS_PORT . '/0';
    }

    /** The environment of the children: ours, without $TQN_REDIS_URL (the tests pass --url or --config). */
    private static function env(array $extra): array
    {
        $env = getenv();
        unset($env['TQN_REDIS_URL']);

        return $extra + $env;
    }

    /**
     * Runs a program to its end (output through temporary files, so a chatty child never blocks
     * on a full pipe).
     *
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    public static function run(array $argv, ?string $stdin = null, array $env = []): array
    {
        $proc = self::start($argv, $env, $stdin);

        return $proc->wait();
    }

    public static function start(array $argv, array $env = [], ?string $stdin = null): Child
    {
        return new Child($argv, self::env($env), $stdin);
    }

    /**
     * The JSON lines a program printed, decoded as PHP does (`json_decode($line, true)`).
     *
     * @return array<int, array>
     */
    public static function lines(string $stdout): array
    {
        $out = [];
        foreach (preg_split('/\n/', trim($stdout)) ?: [] as $line) {
            if ($line !== '') {
                $out[] = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            }
        }

        return $out;
    }
}

/** A child process of the test: started at once, ended with wait() (or term() then wait()). */
final class Child
{
    /** @var resource */
    private $proc;
    private string $out;
    private string $err;
    private string $command;

    public function __construct(array $argv, array $env, ?string $stdin)
    {
        $this->out     = tempnam(sys_get_temp_dir(), 'tqn-mixed-out-');
        $this->err     = tempnam(sys_get_temp_dir(), 'tqn-mixed-err-');
        $this->command = implode(' ', array_map('escapeshellarg', $argv));
        $in = $stdin === null ? ['file', '/dev/null', 'r'] : ['pipe', 'r'];
        $proc = proc_open($argv, [0 => $in, 1 => ['file', $this->out, 'w'], 2 => ['file', $this->err, 'w']], $pipes, null, $env);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start ' . $this->command);
        }
        $this->proc = $proc;
        if ($stdin !== null) {
            fwrite($pipes[0], $stdin);
            fclose($pipes[0]);
        }
    }

    /** A child still running when the test lets go of it (a failed assertion) is killed. */
    public function __destruct()
    {
        $this->kill();
    }

    /** SIGKILL (by its PID) and reap, when still running; its output is dropped. */
    public function kill(): void
    {
        if (!is_resource($this->proc)) {
            return;
        }
        if ($this->running()) {
            posix_kill($this->pid(), SIGKILL);
        }
        proc_close($this->proc);
        @unlink($this->out);
        @unlink($this->err);
    }

    public function pid(): int
    {
        return (int) proc_get_status($this->proc)['pid'];
    }

    public function running(): bool
    {
        return (bool) proc_get_status($this->proc)['running'];
    }

    /** SIGTERM to this child (by its PID). */
    public function term(): void
    {
        if ($this->running()) {
            posix_kill($this->pid(), SIGTERM);
        }
    }

    /**
     * Waits for the end (killing the child after $timeout seconds).
     *
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    public function wait(float $timeout = 60.0): array
    {
        $deadline = microtime(true) + $timeout;
        $code = -1;
        while (true) {
            $status = proc_get_status($this->proc);
            if (!$status['running']) {
                $code = $status['exitcode'];
                break;
            }
            if (microtime(true) > $deadline) {
                posix_kill((int) $status['pid'], SIGKILL);
                proc_close($this->proc);
                throw new \RuntimeException("{$this->command} did not end within {$timeout} s; stderr: " . file_get_contents($this->err));
            }
            usleep(10000);
        }
        proc_close($this->proc);
        $out = (string) file_get_contents($this->out);
        $err = (string) file_get_contents($this->err);
        @unlink($this->out);
        @unlink($this->err);

        return [$code, $out, $err];
    }
}
