<?php
/*
 * Which backend a process gets, and what it is told when it can get none: each case is a PHP
 * subprocess with its own settings (extension loaded or not, FFI on or off, THINK_QUEUE_NATIVE_FFI
 * pointing at the real library, at nothing, at a file of the wrong kind, at a copy of the library
 * patched to need another CPU or a newer glibc). Runs the same on either backend of the suite.
 */

declare(strict_types=1);

namespace tqn\tests\native;

use PHPUnit\Framework\TestCase;

final class BackendTest extends TestCase
{
    /** @var string[] files to remove */
    private $tmp = [];

    protected function tearDown(): void
    {
        foreach ($this->tmp as $f) {
            @unlink($f);
            @rmdir(dirname($f));
        }
    }

    /**
     * Runs $code (after the autoloader) in `php -n` (no php.ini: no extension, no FFI unless asked).
     *
     * @param string[] $ini extra -d settings
     * @return array{0: int, 1: string, 2: string}
     */
    private function php(string $code, array $ini, ?string $ffiLib): array
    {
        $argv = [PHP_BINARY, '-n'];
        if (PHP_VERSION_ID < 80000) {
            // PHP 7's json is a shared extension on Debian: -n drops it (PHP 8 has it built in)
            $ini = array_merge(['extension=json'], $ini);
        }
        foreach ($ini as $setting) {
            $argv[] = '-d';
            $argv[] = $setting;
        }
        $argv[] = '-r';
        $argv[] = 'require ' . var_export(TQN_ROOT . '/php/autoload.php', true) . ';' . $code;
        $env = getenv();
        unset($env['THINK_QUEUE_NATIVE_FFI'], $env['TQN_BACKEND']);
        if ($ffiLib !== null) {
            $env['THINK_QUEUE_NATIVE_FFI'] = $ffiLib;
        }
        $proc = proc_open($argv, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);

        return [proc_close($proc), (string) $out, (string) $err];
    }

    /** The message of the exception `new RedisQueue` throws there, with its class. */
    private function openError(array $ini, ?string $ffiLib): string
    {
        $code = 'try { new think\queue\native\RedisQueue(["port" => ' . TQN_REDIS_PORT . ']); echo "opened"; }'
            . ' catch (Throwable $e) { echo get_class($e), ": ", $e->getMessage(); }';
        [$status, $out, $err] = $this->php($code, $ini, $ffiLib);
        $this->assertSame(0, $status, "no fatal error: $err");
        $this->assertSame('', $err, 'nothing on stderr');

        return $out;
    }

    private static function ffiExtension(): string
    {
        return 'extension=ffi';
    }

    private function requireExtension(): void
    {
        if (!tqn_extension_usable()) {
            $this->markTestSkipped('no extension build for PHP ' . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . ' here: this leg runs on the FFI library only');
        }
    }

    public function testTheExtensionWinsAndTheLibraryIsNeverLoaded(): void
    {
        $this->requireExtension();
        $code = '$q = new think\queue\native\RedisQueue(["port" => ' . TQN_REDIS_PORT . ']); $q->push("A", 1, "backend-both");'
            . ' echo json_encode([(new ReflectionClass($q))->isInternal(), class_exists("think\\\\queue\\\\native\\\\ffi\\\\Library", false)]);';
        [$status, $out, $err] = $this->php($code, ['extension=' . TQN_EXT_SO, self::ffiExtension(), 'ffi.enable=1'], TQN_FFI_LIB);
        $this->assertSame([0, '[true,false]'], [$status, $out], $err);
    }

    public function testTheLibraryServesWhenTheExtensionIsAbsent(): void
    {
        $code = '$q = new think\queue\native\RedisQueue(["port" => ' . TQN_REDIS_PORT . ']); $id = $q->push("A", ["x" => 1], "backend-ffi");'
            . ' $j = $q->pop("backend-ffi"); $q->deleteReserved($j); echo json_encode([(new ReflectionClass($q))->isInternal(), $j->getJobId() === $id, $j->getData()]);';
        [$status, $out, $err] = $this->php($code, [self::ffiExtension(), 'ffi.enable=preload'], TQN_FFI_LIB);
        $this->assertSame([0, '[false,true,{"x":1}]'], [$status, $out], $err);
    }

    public function testNeitherBackendIsOneClearConfigException(): void
    {
        $out = $this->openError([], null);
        $this->assertStringStartsWith('think\queue\native\ConfigException: think-queue-native needs its PHP extension or its FFI library', $out);
        $this->assertStringContainsString('extension=think_queue_native.so', $out);
        $this->assertStringContainsString("PHP's FFI extension is not loaded", $out);
        $this->assertStringContainsString('THINK_QUEUE_NATIVE_FFI', $out);
    }

    public function testFfiDisabledIsNamed(): void
    {
        $out = $this->openError([self::ffiExtension(), 'ffi.enable=0'], TQN_FFI_LIB);
        $this->assertStringContainsString('ffi.enable is off', $out);
        $this->assertStringContainsString(TQN_FFI_LIB, $out);
    }

    public function testMissingOrForeignFilesAreNamed(): void
    {
        $out = $this->openError([self::ffiExtension()], '/nonexistent/libthink_queue_native_ffi.so');
        $this->assertStringContainsString('/nonexistent/libthink_queue_native_ffi.so (from the environment variable THINK_QUEUE_NATIVE_FFI) does not exist', $out);

        $text = TQN_ROOT . '/ffi/think_queue_native_ffi.h';
        $out = $this->openError([self::ffiExtension()], $text);
        $this->assertStringContainsString('is not an ELF shared library', $out);
    }

    /** A copy of the real library with $from replaced by $to (same length). */
    private function patchedCopy(string $from, string $to, int $offset = -1): string
    {
        $bytes = (string) file_get_contents(TQN_FFI_LIB);
        if ($offset >= 0) {
            $bytes = substr_replace($bytes, $to, $offset, strlen($to));
        } else {
            $this->assertStringContainsString($from, $bytes);
            $bytes = str_replace($from, $to, $bytes);
        }
        $dir = sys_get_temp_dir() . '/tqn-backend-' . getmypid() . '-' . count($this->tmp);
        @mkdir($dir);
        $file = "$dir/libthink_queue_native_ffi.so";
        file_put_contents($file, $bytes);
        copy(TQN_ROOT . '/ffi/think_queue_native_ffi.h', "$dir/think_queue_native_ffi.h");
        $this->tmp[] = $file;
        $this->tmp[] = "$dir/think_queue_native_ffi.h";

        return $file;
    }

    public function testALibraryForAnotherCpuIsNamed(): void
    {
        $file = $this->patchedCopy('', pack('v', 183), 18); // e_machine: aarch64
        $out = $this->openError([self::ffiExtension()], $file);
        $this->assertStringContainsString('is built for aarch64, and this PHP runs on x86_64', $out);
    }

    public function testALibraryNeedingANewerGlibcIsNamed(): void
    {
        $needed = \think\queue\native\ffi\Library::glibcNeeded(TQN_FFI_LIB);
        $this->assertNotNull($needed);
        $file = $this->patchedCopy("GLIBC_$needed\0", 'GLIBC_' . str_repeat('9', strlen($needed) - 2) . ".9\0");
        $out = $this->openError([self::ffiExtension()], $file);
        $this->assertStringContainsString('cannot be loaded: it needs glibc ' . str_repeat('9', strlen($needed) - 2) . '.9 and this system has glibc ', $out);
    }

    /** php/doctor.php --json in a `php -n` with these settings. */
    private function doctor(array $ini, ?string $ffiLib): array
    {
        $code = '$argv = ["doctor", "--json"]; require ' . var_export(TQN_ROOT . '/php/doctor.php', true) . ';';
        [$status, $out, $err] = $this->php($code, $ini, $ffiLib);
        $report = json_decode($out, true);
        $this->assertIsArray($report, "doctor printed JSON: $out $err");

        return [$status, $report];
    }

    public function testDoctorSaysWhichBackendAndWhatToDo(): void
    {
        if (tqn_extension_usable()) {
            [$status, $r] = $this->doctor(['extension=' . TQN_EXT_SO], null);
            $this->assertSame([0, 'extension'], [$status, $r['backend']]);
            $this->assertStringStartsWith('loaded (think_queue_native ', $r['extension']);
        }

        [$status, $r] = $this->doctor([self::ffiExtension()], TQN_FFI_LIB);
        $this->assertSame([0, 'ffi'], [$status, $r['backend']]);
        $this->assertSame('usable: ' . realpath(TQN_FFI_LIB) . ' (from the environment variable THINK_QUEUE_NATIVE_FFI)', $r['ffi']);
        $this->assertStringContainsString('PHP-FPM producers', $r['to do']);

        [$status, $r] = $this->doctor([], null);
        $this->assertSame([1, 'none'], [$status, $r['backend']]);
        $this->assertStringContainsString("PHP's FFI extension is not loaded", $r['ffi']);
        $minor = PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        if (PHP_VERSION_ID >= 80100) {
            $this->assertStringContainsString('load the extension: write the line `extension=/path/to/think_queue_native.so` into ', $r['to do']);
        } else {
            $this->assertStringContainsString('not available for PHP ' . $minor . ' (the extension needs PHP 8.1 or newer)', $r['extension']);
            $this->assertStringContainsString('export THINK_QUEUE_NATIVE_FFI=', $r['to do']);
        }
        $this->assertStringStartsWith(PHP_VERSION . ' (' . (PHP_ZTS ? 'ZTS' : 'NTS') . ', cli, ', $r['php']);
        if (in_array($minor, ['8.2', '8.4'], true)) {
            $this->assertStringContainsString("_php$minor-x86_64-linux-glibc.zip", $r['extension']);
        }

        [$status, $r] = $this->doctor([self::ffiExtension(), 'ffi.enable=0'], TQN_FFI_LIB);
        $this->assertSame([1, 'none'], [$status, $r['backend']]);
        $this->assertStringContainsString('ffi.enable is off', $r['ffi']);
    }
}
