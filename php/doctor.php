<?php
/*
 * think-queue-native doctor: what this PHP is, which backend it can use, which release artifact
 * fits it, and the exact line to add. Run it with the PHP that runs your workers (and again with
 * the PHP-FPM's php.ini if producers run there):
 *
 *     php vendor/think-queue-native/think-queue-native/php/doctor.php
 *     php -c /etc/php/8.2/fpm/php.ini php/doctor.php      # the FPM's settings, seen from the CLI
 *     php php/doctor.php --json                             # the same as JSON
 *
 * Exit status 0 when a backend is usable in this process, 1 when none is. Runs on PHP 7.4+.
 */

namespace think\queue\native\doctor;

require __DIR__ . '/autoload.php';

use think\queue\native\ffi\Library;

/** Versions we ship an extension build for (Debian 12 and 13's PHP, NTS, x86_64 glibc). */
const PREBUILT = ['8.2', '8.4'];

function glibc()
{
    if (function_exists('posix_uname') && stripos(PHP_OS, 'Linux') === false) {
        return null;
    }
    if (extension_loaded('ffi')) {
        $v = Library::glibcVersion();
        if ($v !== null) {
            return $v;
        }
    }
    $out = @shell_exec('getconf GNU_LIBC_VERSION 2>/dev/null');
    if (is_string($out) && preg_match('/glibc\s+(\d+\.\d+)/', $out, $m)) {
        return $m[1];
    }

    return null;
}

/** The conf.d directory of this PHP (where a one-line .ini file goes), or null. */
function confDir()
{
    $dir = defined('PHP_CONFIG_FILE_SCAN_DIR') ? PHP_CONFIG_FILE_SCAN_DIR : '';

    return $dir !== '' ? $dir : null;
}

$json   = in_array('--json', $argv ?? [], true);
$minor  = PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
$zts    = PHP_ZTS ? 'ZTS' : 'NTS';
$arch   = php_uname('m');
$libc   = glibc();
$report = [
    'php'       => PHP_VERSION . " ($zts, " . PHP_SAPI . ", $arch" . ($libc !== null ? ", glibc $libc" : ', not glibc or unknown libc') . ')',
    'php.ini'   => (php_ini_loaded_file() ?: '(none)') . (confDir() !== null ? '; conf.d: ' . confDir() : ''),
];

// the extension
$extLoaded = extension_loaded('think_queue_native');
if ($extLoaded) {
    $report['extension'] = 'loaded (think_queue_native ' . phpversion('think_queue_native') . '): the fast path, nothing to do';
} elseif (version_compare($minor, '8.1', '<')) {
    $report['extension'] = "not available for PHP $minor (the extension needs PHP 8.1 or newer): use the FFI library";
} elseif (PHP_ZTS) {
    $report['extension'] = "not loaded; the release builds are NTS: build one for this ZTS PHP with `make ext PHP_CONFIG=" . (PHP_BINDIR . '/php-config') . "` (untested), or use the FFI library";
} elseif (in_array($minor, PREBUILT, true) && $arch === 'x86_64' && $libc !== null) {
    $report['extension'] = "not loaded; fits: php_think_queue_native-<version>_php$minor-x86_64-linux-glibc.zip (target/dist/php$minor/think_queue_native.so)";
} else {
    $report['extension'] = "not loaded; no release build for PHP $minor on $arch: build it with `make ext PHP_CONFIG=" . (PHP_BINDIR . '/php-config') . "` (PHP >= 8.1), or use the FFI library";
}

// the FFI library
list($path, $source) = Library::locate();
$ffiOk = false;
if (!extension_loaded('ffi')) {
    $report['ffi'] = "PHP's FFI extension is not loaded (Debian/Ubuntu: part of php$minor-common, enabled by default; RHEL/remi: install php-ffi; Docker php images: docker-php-ext-install ffi)";
} else {
    $report['ffi.enable'] = (string) ini_get('ffi.enable') . (ini_get('ffi.enable') === 'preload' ? ' (FFI allowed in the CLI and in preloaded code only)' : '');
    try {
        $lib = Library::get();
        $ffiOk = true;
        $report['ffi'] = "usable: $lib->path (from $source)";
    } catch (\Throwable $e) {
        $msg = $e->getMessage();
        // the part about the library, without the general advice around it
        if (preg_match('/and (the FFI library .*?)\. Point /s', $msg, $m)) {
            $msg = $m[1];
        }
        $report['ffi'] = 'not usable: ' . $msg . "; fits: think-queue-native-ffi-<version>-$arch-linux-glibc.zip (target/dist/ffi/libthink_queue_native_ffi.so, any PHP >= 7.4)";
    }
    if ($libc !== null && version_compare($libc, '2.31', '<')) {
        $report['ffi'] .= "; the release library needs glibc 2.31 or newer, this system has $libc";
    }
}

// the verdict and the exact line to add
$conf = confDir();
if ($extLoaded) {
    $backend = 'extension';
    $todo = 'nothing: workers and producers of this PHP use the extension';
} elseif ($ffiOk) {
    $backend = 'ffi';
    $todo = 'nothing for this process (FFI backend); the extension is faster where it fits: ' . $report['extension'];
    if (ini_get('ffi.enable') === 'preload') {
        $todo .= '. PHP-FPM producers: ffi.enable=preload does not allow FFI there: load the extension, set ffi.enable=1, or keep the stock connector for producers (the wire is the same)';
    }
} else {
    $backend = 'none';
    if (!version_compare($minor, '8.1', '<') && !PHP_ZTS) {
        $file = $conf !== null ? "$conf/30-think_queue_native.ini" : 'php.ini';
        $todo = "load the extension: write the line `extension=/path/to/think_queue_native.so` into $file";
        if (extension_loaded('ffi')) {
            $todo .= '; or, with no php.ini edit, for CLI workers: `export ' . Library::ENV . '=/path/to/libthink_queue_native_ffi.so`';
        }
    } else {
        $todo = 'point the FFI library at libthink_queue_native_ffi.so: `export ' . Library::ENV . '=/path/to/libthink_queue_native_ffi.so` for the workers (or \'ffi_lib\' => \'/path/to/libthink_queue_native_ffi.so\' in the queue connection config)';
    }
}
$report['backend'] = $backend;
$report['to do'] = $todo;

if ($json) {
    echo json_encode($report, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
} else {
    foreach ($report as $k => $v) {
        printf("%-11s %s\n", $k . ':', $v);
    }
}
exit($backend === 'none' ? 1 : 0);
