<?php
/*
 * Graceful stop for 1.x/2.x workers (stock has no signal handling): SIGTERM lets the running job
 * finish, and the worker exits at its next pop without reserving anything new.
 */

declare(strict_types=1);

namespace tqn\tests\v1;

use think\Config;
use think\queue\Worker;

final class V1GracefulStopTest extends V1TestCase
{
    /** Forks a `queue:work --daemon`-like worker on $queue with block_for $block; returns its pid. */
    private function forkWorker(string $queue, float $block): int
    {
        $pid = pcntl_fork();
        if ($pid === 0) {
            $code = 0;
            try {
                Config::set('queue', ['block_for' => $block] + Config::get('queue'));
                self::resetFacade();
                while (true) {
                    (new Worker())->pop($queue, 0, 0, 0);
                }
            } catch (\Throwable $e) {
                fwrite(STDERR, (string) $e);
                $code = 3;
            }
            posix_kill(getmypid(), SIGKILL); // not reached when the connector exits on SIGTERM
            exit($code);
        }

        return $pid;
    }

    /** Waits for $pid to exit; returns [exit status or null when killed, seconds waited]. */
    private static function reap(int $pid, float $timeout): array
    {
        $started = microtime(true);
        while (microtime(true) - $started < $timeout) {
            if (pcntl_waitpid($pid, $status, WNOHANG) === $pid) {
                return [pcntl_wifexited($status) ? pcntl_wexitstatus($status) : null, microtime(true) - $started];
            }
            usleep(20000);
        }
        posix_kill($pid, SIGKILL);
        pcntl_waitpid($pid, $status);

        return [null, microtime(true) - $started];
    }

    public function testSigtermWhileIdleExitsWithinTheBlockSlice(): void
    {
        $pid = $this->forkWorker('graceful-idle', 5.0);
        usleep(500000);
        posix_kill($pid, SIGTERM);
        [$status, $waited] = self::reap($pid, 5.0);
        $this->assertSame(0, $status, 'exited normally');
        $this->assertLessThan(1.8, $waited, 'within one 1 s slice of block_for 5');
    }

    public function testSigtermMidJobLetsItFinishAndReservesNothingNew(): void
    {
        $key = 'graceful:' . getmypid();
        self::connector()->push('app\job\Slow', ['port' => TQN_REDIS_PORT, 'key' => $key, 'seconds' => 1.5], 'graceful-busy');
        $pid = $this->forkWorker('graceful-busy', 1.0);
        $admin = self::admin();
        $t = microtime(true);
        while (!$admin->hExists($key, 'started') && microtime(true) - $t < 5) {
            usleep(20000);
        }
        $this->assertTrue($admin->hExists($key, 'started'), 'the job started');
        self::connector()->push('Hello', 'not started', 'graceful-busy');
        posix_kill($pid, SIGTERM);
        [$status, $waited] = self::reap($pid, 6.0);
        $this->assertSame(0, $status);
        $this->assertTrue($admin->hExists($key, 'finished'), 'the running job finished');
        $this->assertGreaterThanOrEqual((float) $admin->hGet($key, 'finished'), microtime(true));
        $this->assertSame([], self::zset('queues:graceful-busy:reserved'), 'nothing left reserved');
        $ready = self::listed('queues:graceful-busy');
        $this->assertCount(1, $ready, 'the job pushed after SIGTERM was not taken');
        $this->assertStringContainsString('"data":"not started"', $ready[0]);
        $admin->del($key);
    }

    public function testGracefulStopCanBeTurnedOff(): void
    {
        $pid = pcntl_fork();
        if ($pid === 0) {
            pcntl_signal(SIGTERM, SIG_DFL); // this test process may have our handler from earlier tests
            Config::set('queue', ['block_for' => 5, 'graceful_stop' => false] + Config::get('queue'));
            self::resetFacade();
            try {
                (new Worker())->pop('graceful-off', 0, 0, 0);
            } finally {
                posix_kill(getmypid(), SIGKILL);
            }
        }
        usleep(500000);
        posix_kill($pid, SIGTERM);
        pcntl_waitpid($pid, $status);
        $this->assertTrue(pcntl_wifsignaled($status), 'default SIGTERM action: killed, as stock');
        $this->assertSame(SIGTERM, pcntl_wtermsig($status));
    }
}
