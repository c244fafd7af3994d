<?php
/*
 * think\queue\native\RedisQueue on the FFI backend: the same class and methods as the extension's
 * (docs/php-api.md), each one call into libthink_queue_native_ffi.so (see ffi/Library.php).
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded. What differs, by design:
 *  - job data is encoded by this PHP's own json_encode() and written verbatim by the core (so the
 *    bytes are this PHP version's, as stock think-queue's); the core builds everything around it;
 *  - payloads are decoded by this PHP's json_decode() when a job's payload is read;
 *  - the config is handed over as JSON: values that JSON cannot carry (objects, resources) count
 *    as `true`, strings that are not UTF-8 have their bad bytes replaced (U+FFFD).
 * The extension stays the fast path (no FFI marshalling, no second json pass).
 *
 * PHP 7.4 compatible.
 */

namespace think\queue\native;

use FFI;
use think\queue\native\ffi\Library;

final class RedisQueue
{
    /** @var Library */
    private $lib;

    /** @var FFI\CData tqn_queue* */
    private $handle;

    /** @var array|null options(), read once */
    private $options;

    /**
     * Connects now (connect, AUTH, SELECT), or borrows an idle persistent connection.
     *
     * @param array $options a think-queue connection config; `ffi_lib` names the library
     * @param string|null $generation 'v1' (think-queue 1.x/2.x keys) or 'v3'; null: the config's dialect, else v3
     */
    public function __construct(array $options = [], $generation = null)
    {
        $this->lib = Library::get(isset($options['ffi_lib']) ? (string) $options['ffi_lib'] : null);
        $json = json_encode(self::configValue($options, 0), JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
        if (!is_string($json)) {
            throw new ConfigException('invalid configuration: the config cannot be handed to the FFI library: ' . json_last_error_msg());
        }
        if ($json === '[]') {
            $json = '{}';
        }
        $generation = $generation === null ? null : (string) $generation;
        $ffi = $this->lib->ffi;
        $handle = $ffi->new('tqn_queue*');
        $this->lib->check($ffi->tqn_queue_open($json, strlen($json), $generation, $generation === null ? 0 : strlen($generation), FFI::addr($handle)));
        $this->handle = $handle;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->lib->ffi->tqn_queue_free($this->handle);
            $this->handle = null;
        }
    }

    /** Config values as JSON can carry them (see the top of this file). */
    private static function configValue($v, $depth)
    {
        if (is_array($v)) {
            if ($depth >= 4) {
                return true;
            }
            $out = [];
            foreach ($v as $k => $item) {
                $out[$k] = self::configValue($item, $depth + 1);
            }

            return $out;
        }
        if (is_float($v) && !is_finite($v)) {
            return (string) $v;
        }

        return is_scalar($v) || $v === null ? $v : true;
    }

    /** A queue name argument: falsy names are the default queue (the core's rule), others their string. */
    private static function name($queue)
    {
        return $queue === null ? null : (string) $queue;
    }

    /** 'v1' (think-queue 1.x/2.x wire) or 'v3'. */
    public function dialect()
    {
        return $this->lib->ffi->tqn_queue_dialect($this->handle) === 1 ? 'v1' : 'v3';
    }

    /** What the config given to the constructor means, resolved (see the extension's options()). */
    public function options()
    {
        if ($this->options === null) {
            $this->lib->check($this->lib->ffi->tqn_queue_options($this->handle, FFI::addr($this->lib->bytes)));
            $this->options = json_decode($this->lib->takeBytes(), true);
        }

        return $this->options;
    }

    /** The queue used when a call names none. */
    public function getDefaultQueue()
    {
        return $this->options()['default_queue'];
    }

    /** The Redis keys of the queue: ['ready' => ..., 'delayed' => ..., 'reserved' => ..., 'dead' => ...]. */
    public function keys($queue = null)
    {
        $q = self::name($queue);
        $this->lib->check($this->lib->ffi->tqn_queue_keys($this->handle, $q, $q === null ? 0 : strlen($q), FFI::addr($this->lib->bytes)));

        return json_decode($this->lib->takeBytes(), true);
    }

    /** Sends PING. True, or throws. */
    public function ping()
    {
        $this->lib->check($this->lib->ffi->tqn_ping($this->handle));

        return true;
    }

    /** Pushes a job. Returns the job id. */
    public function push($job, $data = '', $queue = null, array $meta = [])
    {
        return $this->pushJob(0, 0, $job, func_num_args() >= 2, $data, $queue, $meta);
    }

    /** Delays a job by $delay seconds. Returns the job id. */
    public function later($delay, $job, $data = '', $queue = null, array $meta = [])
    {
        return $this->pushJob(1, (int) $delay, $job, func_num_args() >= 3, $data, $queue, $meta);
    }

    /** Delays a job until the unix time $timestamp. Returns the job id. */
    public function laterAt($timestamp, $job, $data = '', $queue = null, array $meta = [])
    {
        return $this->pushJob(2, (int) $timestamp, $job, func_num_args() >= 3, $data, $queue, $meta);
    }

    private function pushJob($kind, $delay, $job, $hasData, $data, $queue, array $meta)
    {
        list($object, $dataJson, $metaJson) = self::parts($job, $hasData, $data, $meta);
        $job = (string) $job;
        $q = self::name($queue);
        $lib = $this->lib;
        $lib->check($lib->ffi->tqn_push(
            $this->handle,
            $q,
            $q === null ? 0 : strlen($q),
            $kind,
            $delay,
            $job,
            strlen($job),
            $dataJson,
            $dataJson === null ? 0 : strlen($dataJson),
            $metaJson,
            $metaJson === null ? 0 : strlen($metaJson),
            $object,
            $object === null ? 0 : strlen($object),
            FFI::addr($lib->bytes)
        ));

        return $lib->takeBytes();
    }

    /**
     * The serialize()d object of an object job, the data as this PHP's json_encode() writes it,
     * and the v3 meta fields given, as JSON.
     *
     * @return array{0: ?string, 1: ?string, 2: ?string}
     */
    private static function parts($job, $hasData, $data, array $meta)
    {
        if (!is_string($job)) {
            throw new \TypeError('think\queue\native\RedisQueue: the job name must be a string, ' . gettype($job) . ' given');
        }
        $object = null;
        if (isset($meta['object'])) {
            if (!is_string($meta['object'])) {
                throw new \TypeError('`object` in $meta must be the serialize()d job object, ' . gettype($meta['object']) . ' given');
            }
            $object = $meta['object'];
        }
        $fields = [];
        foreach (['maxTries', 'timeout', 'timeoutAt'] as $key) {
            if (array_key_exists($key, $meta)) {
                $fields[$key] = $meta[$key];
            }
        }
        $metaJson = $fields ? self::json($fields) : null;
        $dataJson = ($object === null && $hasData) ? self::json($data) : null;

        return [$object, $dataJson, $metaJson];
    }

    /** json_encode() as think-queue's createPayload uses it: default flags, failures are PayloadException. */
    private static function json($value)
    {
        $json = json_encode($value);
        if ($json === false) {
            throw new PayloadException('Unable to create payload: ' . json_last_error_msg());
        }

        return $json;
    }

    /** Pushes payload bytes as given. Returns the payload's "id", or null. */
    public function pushRaw($payload, $queue = null)
    {
        return $this->raw(0, 0, $payload, $queue);
    }

    /** Delays payload bytes as given by $delay seconds. */
    public function laterRaw($delay, $payload, $queue = null)
    {
        $this->raw(1, (int) $delay, $payload, $queue);
    }

    private function raw($kind, $delay, $payload, $queue)
    {
        $payload = (string) $payload;
        $q = self::name($queue);
        $lib = $this->lib;
        $lib->check($lib->ffi->tqn_push_raw($this->handle, $q, $q === null ? 0 : strlen($q), $kind, $delay, $payload, strlen($payload), FFI::addr($lib->bytes)));

        return $lib->takeBytes();
    }

    /**
     * Pushes many jobs: each element is a handler name (with $data) or [string $job, mixed $data,
     * array $meta = []]. All payloads are built first (one bad element throws and nothing is
     * written), then pushed in one round trip. Returns the ids.
     */
    public function bulk(array $jobs, $data = '', $queue = null)
    {
        $hasData = func_num_args() >= 2;
        $frames = '';
        $sharedJson = null;
        foreach ($jobs as $key => $element) {
            if (is_string($element)) {
                if ($hasData && $sharedJson === null) {
                    $sharedJson = self::json($data);
                }
                $frames .= self::frame($element) . self::frame($hasData ? $sharedJson : null) . self::frame(null) . self::frame(null);
                continue;
            }
            if (!is_array($element) || !isset($element[0]) || !is_string($element[0]) || (isset($element[2]) && !is_array($element[2]))) {
                throw new \TypeError(sprintf(
                    'think\queue\native\RedisQueue::bulk(): Argument #1 ($jobs) element %s must be a job name string or an array [string $job, mixed $data, array $meta = []], %s given',
                    is_int($key) ? $key : "'$key'",
                    self::typeName($element)
                ));
            }
            list($object, $dataJson, $metaJson) = self::parts($element[0], array_key_exists(1, $element), $element[1] ?? null, isset($element[2]) ? $element[2] : []);
            $frames .= self::frame($element[0]) . self::frame($dataJson) . self::frame($metaJson) . self::frame($object);
        }
        if ($frames === '') {
            return [];
        }
        $q = self::name($queue);
        $lib = $this->lib;
        $lib->check($lib->ffi->tqn_bulk($this->handle, $q, $q === null ? 0 : strlen($q), $frames, strlen($frames), FFI::addr($lib->bytes)));

        return json_decode($lib->takeBytes(), true);
    }

    /** One field of tqn_bulk's frames: 32-bit little-endian length and bytes; null is absent. */
    private static function frame($bytes)
    {
        return $bytes === null ? "\xff\xff\xff\xff" : pack('V', strlen($bytes)) . $bytes;
    }

    private static function typeName($v)
    {
        $names = ['boolean' => 'bool', 'integer' => 'int', 'double' => 'float', 'NULL' => 'null'];
        $t = gettype($v);

        return $names[$t] ?? $t;
    }

    /**
     * Takes the next job (moving due delayed jobs and expired reservations first) and reserves
     * it, atomically. Null when nothing is ready. With $block > 0, waits up to that many seconds.
     *
     * @return ReservedJob|null
     */
    public function pop($queue = null, $block = 0.0)
    {
        $q = self::name($queue);
        $lib = $this->lib;
        $handle = $lib->ffi->new('tqn_job*');
        $lib->check($lib->ffi->tqn_pop($this->handle, $q, $q === null ? 0 : strlen($q), (float) $block, FFI::addr($handle)));
        if (FFI::isNull($handle)) {
            return null;
        }

        return new ReservedJob($lib, $handle);
    }

    /** Acknowledges the job written behind (sent with this queue's next command). */
    public function ack(ReservedJob $job)
    {
        $this->lib->check($this->lib->ffi->tqn_ack($this->handle, $job->handle()));
    }

    /**
     * Counts the job as failed in the metrics instead of processed (think-queue deletes a failed
     * job first, then calls its failed hook); nothing else changes.
     */
    public function markFailed(ReservedJob $job)
    {
        $this->lib->check($this->lib->ffi->tqn_mark_failed($this->handle, $job->handle()));
    }

    /** Removes the job's reservation (it is done). False when it was no longer reserved. */
    public function deleteReserved(ReservedJob $job)
    {
        $this->lib->check($this->lib->ffi->tqn_delete_reserved($this->handle, $job->handle(), FFI::addr($this->lib->flag)));

        return $this->lib->flag->cdata === 1;
    }

    /** Moves the reserved job to the delayed set, due in $delay seconds. False when it was gone. */
    public function release(ReservedJob $job, $delay = 0)
    {
        $this->lib->check($this->lib->ffi->tqn_release($this->handle, $job->handle(), (int) $delay, FFI::addr($this->lib->flag)));

        return $this->lib->flag->cdata === 1;
    }

    /** Moves a reserved, unprocessable job to the dead-letter list. False when it was gone. */
    public function bury(ReservedJob $job)
    {
        $this->lib->check($this->lib->ffi->tqn_bury($this->handle, $job->handle(), FFI::addr($this->lib->flag)));

        return $this->lib->flag->cdata === 1;
    }

    /** Sends the acknowledgements ack() holds back now. Returns how many were sent. */
    public function flush()
    {
        $this->lib->check($this->lib->ffi->tqn_flush($this->handle, FFI::addr($this->lib->int1)));

        return $this->lib->int1->cdata;
    }

    /** Jobs in the queue: ready + delayed + reserved. */
    public function size($queue = null)
    {
        $q = self::name($queue);
        $this->lib->check($this->lib->ffi->tqn_size($this->handle, $q, $q === null ? 0 : strlen($q), FFI::addr($this->lib->int1)));

        return $this->lib->int1->cdata;
    }

    /** ['ready' => n, 'delayed' => n, 'reserved' => n]. */
    public function sizes($queue = null)
    {
        $q = self::name($queue);
        $lib = $this->lib;
        $lib->check($lib->ffi->tqn_sizes($this->handle, $q, $q === null ? 0 : strlen($q), FFI::addr($lib->int1), FFI::addr($lib->int2), FFI::addr($lib->int3)));

        return ['ready' => $lib->int1->cdata, 'delayed' => $lib->int2->cdata, 'reserved' => $lib->int3->cdata];
    }

    /** Moves due delayed jobs and expired reservations to the ready list now: ['delayed' => n, 'reserved' => n]. */
    public function migrate($queue = null)
    {
        $q = self::name($queue);
        $lib = $this->lib;
        $lib->check($lib->ffi->tqn_migrate($this->handle, $q, $q === null ? 0 : strlen($q), FFI::addr($lib->int1), FFI::addr($lib->int2)));

        return ['delayed' => $lib->int1->cdata, 'reserved' => $lib->int2->cdata];
    }

    /** Drops the connection (a persistent one goes back to the pool); the next call reconnects. */
    public function close()
    {
        $this->lib->check($this->lib->ffi->tqn_queue_close($this->handle));
    }
}
