<?php
/*
 * Process-level behaviour of the extension, each in a fresh `php` process with the same
 * extension: the panic hook (a Rust panic is a QueueException, never a crash or a stderr dump)
 * and the IDE stubs check.
 */

declare(strict_types=1);

namespace tqn\tests\native;

use PHPUnit\Framework\TestCase;

final class HooksTest extends TestCase
{
    protected function setUp(): void
    {
        if (!tqn_extension_usable()) {
            $this->markTestSkipped('no extension build for PHP ' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . ' here (' . TQN_EXT_SO . '): this leg runs on the FFI library only');
        }
    }

    /**
     * @param array<string, ?string> $env variables to set (null: remove)
     * @return array{0: int, 1: string, 2: string} exit code, stdout, stderr
     */
    private static function php(string $code, array $env = []): array
    {
        $proc = proc_open(
            [PHP_BINARY, '-n', '-d', 'extension=' . TQN_EXT_SO, '-d', 'display_errors=stderr', '-r', $code],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            array_filter($env + getenv(), static fn ($v) => $v !== null)
        );
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);

        return [proc_close($proc), (string) $out, (string) $err];
    }

    public function testPanicBecomesQueueExceptionWithNothingOnStderr(): void
    {
        $code = 'if (!function_exists("think\\\\queue\\\\native\\\\__test_panic")) { echo "NO_HOOK"; exit(3); }'
            . ' try { think\\queue\\native\\__test_panic(); echo "NO_EXCEPTION"; }'
            . ' catch (think\\queue\\native\\QueueException $e) { echo get_class($e), "|", $e->getMessage(); }'
            . ' echo "|alive";';
        [$status, $out, $err] = self::php($code, ['TQN_TEST_HOOKS' => '1', 'RUST_BACKTRACE' => '1']);

        $this->assertNotSame('NO_HOOK', $out, 'think\queue\native\__test_panic() is not registered under TQN_TEST_HOOKS=1');
        $this->assertSame(0, $status, $out . $err);
        $this->assertMatchesRegularExpression('/^think\\\\queue\\\\native\\\\QueueException\|internal error.*\|alive$/s', $out);
        $this->assertSame('', $err, 'nothing on stderr');
    }

    public function testPanicHookIsDisabledWithoutTheEnvironmentSwitch(): void
    {
        $code = 'try { think\\queue\\native\\__test_panic(); echo "NO_EXCEPTION"; }'
            . ' catch (think\\queue\\native\\QueueException $e) { echo $e->getMessage(); }';
        [$status, $out, $err] = self::php($code, ['TQN_TEST_HOOKS' => null]);
        $this->assertSame(0, $status, $out . $err);
        $this->assertSame('test hooks are disabled', $out);
        $this->assertSame('', $err);
    }

    public function testStubsMatchTheBuiltExtension(): void
    {
        if (getenv('TQN_SKIP_STUBS_CHECK') === '1') {
            $this->markTestSkipped('the stubs describe one API for every PHP: checked on the build machine (make stubs-check), not in each userland');
        }
        $script = TQN_ROOT . '/scripts/stubs.sh';
        $this->assertFileExists($script, 'the stubs are generated and checked by scripts/stubs.sh');
        $proc = proc_open(['bash', $script, '--check'], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes, TQN_ROOT);
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        $this->assertSame(0, proc_close($proc), "scripts/stubs.sh --check:\n" . $out);
    }
}
