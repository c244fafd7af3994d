<?php
/*
 * The FFI bridge library (libthink_queue_native_ffi.so) loaded into this process with PHP's FFI:
 * where it is, whether it can be loaded, and the one mapping from its status codes to exceptions.
 *
 * Used by think\queue\native\RedisQueue / ReservedJob when the extension is not loaded. Runs on
 * PHP 7.4 and later (ext-ffi; `ffi.enable=1`, or `preload`, PHP's default, which allows FFI in the
 * CLI: `php think queue:work`).
 *
 * Where the library is found, in order: the connection config key `ffi_lib`, the environment
 * variable THINK_QUEUE_NATIVE_FFI, the packaged location next to php/ (../ffi/ from php/; a
 * release archive holds php/ and ffi/ side by side). Its C header is read from the library's
 * directory, else from ffi/ next to php/.
 */

namespace think\queue\native\ffi;

use FFI;
use think\queue\native\AuthException;
use think\queue\native\ConfigException;
use think\queue\native\ConnectionException;
use think\queue\native\MalformedPayloadException;
use think\queue\native\PayloadException;
use think\queue\native\QueueException;

final class Library
{
    /** The ABI revision this PHP code speaks (tqn_abi_version() of the library must match). */
    const ABI_VERSION = 2;

    const ENV = 'THINK_QUEUE_NATIVE_FFI';
    const FILE = 'libthink_queue_native_ffi.so';
    const HEADER = 'think_queue_native_ffi.h';

    /** @var Library[] loaded libraries by real path (one FFI instance per file and process) */
    private static $loaded = [];

    /** @var FFI */
    public $ffi;

    /** @var string the library's real path */
    public $path;

    /** Reusable out-parameters (PHP runs one call at a time per thread). */
    public $bytes;
    public $view;
    public $int1;
    public $int2;
    public $int3;
    public $flag;
    private $errPtr;
    private $errLen;

    private function __construct(FFI $ffi, $path)
    {
        $this->ffi      = $ffi;
        $this->path     = $path;
        $this->bytes    = $ffi->new('tqn_bytes');
        $this->view     = $ffi->new('tqn_job_view');
        $this->int1     = $ffi->new('int64_t');
        $this->int2     = $ffi->new('int64_t');
        $this->int3     = $ffi->new('int64_t');
        $this->flag     = $ffi->new('int32_t');
        $this->errPtr   = $ffi->new('char*');
        $this->errLen   = $ffi->new('size_t');
    }

    /** The package root (the directory holding php/ and, in a release archive, ffi/). */
    private static function packageRoot()
    {
        return dirname(__DIR__, 3);
    }

    /**
     * Where the library would be taken from: [path, what named it].
     *
     * @param string|null $configured the connection config's `ffi_lib`
     * @return array{0: string, 1: string}
     */
    public static function locate($configured = null)
    {
        if (is_string($configured) && $configured !== '') {
            return [$configured, "the connection config's 'ffi_lib'"];
        }
        $env = getenv(self::ENV);
        if (is_string($env) && $env !== '') {
            return [$env, 'the environment variable ' . self::ENV];
        }

        return [self::packageRoot() . '/ffi/' . self::FILE, 'the packaged default location'];
    }

    /**
     * The loaded library (loading it on first use).
     *
     * @param string|null $configured the connection config's `ffi_lib`
     * @throws ConfigException naming the file and the reason when it cannot be used
     */
    public static function get($configured = null)
    {
        list($path, $source) = self::locate($configured);
        $real = realpath($path);
        if ($real !== false && isset(self::$loaded[$real])) {
            return self::$loaded[$real];
        }
        $problem = self::problem($path, $real);
        if ($problem !== null) {
            throw new ConfigException(self::advice("the FFI library $path (from $source) $problem"));
        }
        try {
            $ffi = FFI::cdef(self::declarations($real), $real);
        } catch (\Throwable $e) {
            throw new ConfigException(self::advice("the FFI library $real (from $source) cannot be loaded: " . self::loadFailure($real, $e)), 0, $e);
        }
        $abi = $ffi->tqn_abi_version();
        if ($abi !== self::ABI_VERSION) {
            throw new ConfigException(self::advice("the FFI library $real (from $source) speaks ABI $abi, this php/ directory speaks " . self::ABI_VERSION . ': use the library and php/ of one release'));
        }

        return self::$loaded[$real] = new self($ffi, $real);
    }

    /** Why FFI cannot load a library at $path here (before trying), or null. */
    private static function problem($path, $real)
    {
        if (!extension_loaded('ffi')) {
            return "cannot be used: PHP's FFI extension is not loaded (Debian/Ubuntu: it is part of php" . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . "-common; RHEL/remi: php-ffi; Docker php images: docker-php-ext-install ffi)";
        }
        $enable = strtolower((string) ini_get('ffi.enable'));
        if (in_array($enable, ['0', '', 'false', 'off', 'no'], true)) {
            return 'cannot be used: ffi.enable is off in php.ini (set ffi.enable=preload for CLI workers, or 1)';
        }
        if ($enable === 'preload' && PHP_SAPI !== 'cli' && PHP_SAPI !== 'phpdbg') {
            return 'cannot be used: ffi.enable=preload allows FFI only in the CLI and in preloaded code, and this is ' . PHP_SAPI . ' (set ffi.enable=1, or load the extension, or keep the stock connector for producers here: the wire is the same)';
        }
        if ($real === false || !is_file($real)) {
            return 'does not exist';
        }
        if (!is_readable($real)) {
            return 'is not readable by this user';
        }
        $header = self::headerPath($real);
        if ($header === null) {
            return 'has no C header ' . self::HEADER . ' next to it or in ' . self::packageRoot() . '/ffi/';
        }
        $elf = self::elfProblem($real);
        if ($elf !== null) {
            return $elf;
        }

        return null;
    }

    /** The C header of the library at $real. */
    private static function headerPath($real)
    {
        foreach ([dirname($real) . '/' . self::HEADER, self::packageRoot() . '/ffi/' . self::HEADER] as $h) {
            if (is_file($h) && is_readable($h)) {
                return $h;
            }
        }

        return null;
    }

    /** The header's declarations as FFI::cdef() takes them: without preprocessor lines. */
    private static function declarations($real)
    {
        $text = (string) file_get_contents(self::headerPath($real));
        $lines = [];
        $skip = false;
        foreach (preg_split('/\R/', $text) as $line) {
            $t = trim($line);
            if ($t !== '' && $t[0] === '#') {
                continue;
            }
            // the C++ linkage block is only for C++ compilers
            if ($t === 'extern "C" {' || ($t === '}' && $skip)) {
                $skip = $t !== '}';
                continue;
            }
            $lines[] = $line;
        }

        return implode("\n", $lines);
    }

    /** A wrong file kind or CPU architecture, read from the ELF header; null when it fits. */
    private static function elfProblem($real)
    {
        $head = (string) file_get_contents($real, false, null, 0, 20);
        if (strlen($head) < 20 || substr($head, 0, 4) !== "\x7fELF") {
            return 'is not an ELF shared library';
        }
        $machines = [3 => 'i386', 62 => 'x86_64', 183 => 'aarch64', 40 => 'arm', 243 => 'riscv64'];
        $machine = unpack('v', substr($head, 18, 2))[1];
        $theirs = $machines[$machine] ?? "machine $machine";
        $ours = php_uname('m');
        $aliases = ['amd64' => 'x86_64', 'arm64' => 'aarch64'];
        $ours = $aliases[$ours] ?? $ours;
        if ($theirs !== $ours) {
            return "is built for $theirs, and this PHP runs on $ours: use the library built for $ours";
        }
        if (ord($head[4]) !== (PHP_INT_SIZE === 8 ? 2 : 1)) {
            return 'is a ' . (ord($head[4]) === 2 ? '64' : '32') . '-bit library and this PHP is ' . (PHP_INT_SIZE * 8) . '-bit';
        }

        return null;
    }

    /** Why FFI::cdef() failed: the C library's version when the file needs a newer one, else FFI's message. */
    private static function loadFailure($real, \Throwable $e)
    {
        $needed = self::glibcNeeded($real);
        $have = self::glibcVersion();
        if ($needed !== null && $have !== null && version_compare($have, $needed, '<')) {
            return "it needs glibc $needed and this system has glibc $have (use a library built on an older system: the release's is built for glibc 2.31, Debian 11 / Ubuntu 20.04)";
        }

        return $e->getMessage();
    }

    /** The highest GLIBC_x.y symbol version the file names, or null. */
    public static function glibcNeeded($real)
    {
        $data = @file_get_contents($real);
        if (!is_string($data) || !preg_match_all('/GLIBC_(\d+\.\d+(?:\.\d+)?)/', $data, $m)) {
            return null;
        }
        $versions = array_unique($m[1]);
        usort($versions, 'version_compare');

        return end($versions);
    }

    /** This process's glibc version (through FFI itself), or null. */
    public static function glibcVersion()
    {
        try {
            $libc = FFI::cdef('const char *gnu_get_libc_version(void);');
            $v = $libc->gnu_get_libc_version(); // FFI reads a const char * result as a PHP string

            return is_string($v) ? $v : FFI::string($v);
        } catch (\Throwable $e) {
            return null;
        }
    }

    /** The one message for "neither backend": what was wrong, and what to do. */
    public static function advice($what)
    {
        return "think-queue-native needs its PHP extension or its FFI library, and neither can be used: the extension "
            . "think_queue_native is not loaded (add extension=think_queue_native.so for PHP " . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION
            . " to php.ini), and $what. Point " . self::ENV . " (or the connection config's 'ffi_lib') at "
            . self::FILE . ", or load the extension; `php " . self::packageRoot() . "/php/doctor.php` says which fits this PHP.";
    }

    /** Throws the exception of a failed call's status code, with the library's message. */
    public function fail($code)
    {
        $this->ffi->tqn_last_error(FFI::addr($this->errPtr), FFI::addr($this->errLen));
        $len = $this->errLen->cdata;
        $message = $len > 0 ? FFI::string($this->errPtr, $len) : "FFI call failed with status $code";
        switch ($code) {
            case 2:
                throw new ConnectionException($message);
            case 3:
                throw new AuthException($message);
            case 4:
                throw new PayloadException($message);
            case 5:
                throw new MalformedPayloadException($message);
            case 6:
                throw new ConfigException($message);
            case 7:
                if (class_exists('ValueError')) {
                    throw new \ValueError($message);
                }
                throw new \InvalidArgumentException($message);
            case 8:
                throw new \TypeError($message);
            default:
                throw new QueueException($message);
        }
    }

    /** Checks a status code: returns on 0, throws otherwise. */
    public function check($code)
    {
        if ($code !== 0) {
            $this->fail($code);
        }
    }

    /** The owned bytes in $this->bytes as a PHP string (null for a NULL pointer), released. */
    public function takeBytes()
    {
        $b = $this->bytes;
        if ($b->ptr === null) {
            return null;
        }
        $s = FFI::string($b->ptr, $b->len);
        $this->ffi->tqn_bytes_free(FFI::addr($b));

        return $s;
    }

    /** A borrowed (pointer, length) pair as a PHP string; null for a NULL pointer. */
    public static function text($ptr, $len)
    {
        return $ptr === null ? null : ($len > 0 ? FFI::string($ptr, $len) : '');
    }
}
