<?php
/*
 * examples/plain.php (quoted verbatim in README.md) runs against the private redis-server.
 */

declare(strict_types=1);

namespace tqn\tests\native;

use tqn\tests\support\RedisTestCase;

final class ExamplesTest extends RedisTestCase
{
    public function testPlainScriptExampleRuns(): void
    {
        $script = TQN_ROOT . '/examples/plain.php';
        // on the suite's backend: the extension, or the FFI library with the autoloader prepended
        $env = getenv();
        $cmd = TQN_BACKEND === 'ffi'
            ? [PHP_BINARY, '-d', 'auto_prepend_file=' . TQN_ROOT . '/php/autoload.php', $script, (string) TQN_REDIS_PORT]
            : [PHP_BINARY, '-d', 'extension=' . TQN_EXT_SO, $script, (string) TQN_REDIS_PORT];
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $this->assertSame(0, proc_close($proc), $out . $err);
        $this->assertSame('', $err);
        $this->assertMatchesRegularExpression('/^app\\\\job\\\\SendSms #1 [A-Za-z]{32} \{"mobile":"13800000000"\}\npushed [A-Za-z]{32}; left: \{"ready":0,"delayed":1,"reserved":0\}\n$/', $out);
    }

    public function testReadmeQuotesThePlainScript(): void
    {
        $readme = (string) file_get_contents(TQN_ROOT . '/README.md');
        $body = explode("\n", (string) file_get_contents(TQN_ROOT . '/examples/plain.php'));
        $code = implode("\n", array_slice($body, 4)); // from `use ...` on
        $this->assertStringContainsString($code, $readme, 'README.md must quote examples/plain.php from its `use` line on');
    }
}
