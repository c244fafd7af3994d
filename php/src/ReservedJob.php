<?php
/*
 * think\queue\native\ReservedJob on the FFI backend: a job RedisQueue::pop() reserved, with the
 * methods of the extension's class (docs/php-api.md). Its fields are read once, at pop, from the
 * library's tqn_job_view (what is malformed and why is decided by the core); the payload is
 * decoded by this PHP's json_decode() when it is asked for.
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded. Not meant to be constructed by applications. PHP 7.4 compatible.
 */

namespace think\queue\native;

use FFI;
use think\queue\native\ffi\Library;

final class ReservedJob
{
    /** @var Library */
    private $lib;

    /** @var FFI\CData|null tqn_job* */
    private $handle;

    private $raw;
    private $reserved;
    private $queue;
    private $payloadError;
    private $name;
    private $nameError;
    private $attempts;
    private $attemptsError;
    private $id;
    private $idError;
    private $dialect;

    /** @var array|null json_decode($raw, true), once */
    private $decoded;

    /**
     * @internal built by RedisQueue::pop()
     * @param FFI\CData $handle tqn_job*
     */
    public function __construct(Library $lib, $handle)
    {
        $this->lib    = $lib;
        $this->handle = $handle;
        $v = $lib->view;
        $lib->check($lib->ffi->tqn_job_view_get($handle, FFI::addr($v)));
        $this->raw           = Library::text($v->raw, $v->raw_len);
        $this->reserved      = Library::text($v->reserved, $v->reserved_len);
        $this->queue         = Library::text($v->queue, $v->queue_len);
        $this->payloadError  = Library::text($v->payload_error, $v->payload_error_len);
        $this->name          = Library::text($v->name, $v->name_len);
        $this->nameError     = Library::text($v->name_error, $v->name_error_len);
        $this->attempts      = $v->attempts;
        $this->attemptsError = Library::text($v->attempts_error, $v->attempts_error_len);
        $this->id            = Library::text($v->id, $v->id_len);
        $this->idError       = Library::text($v->id_error, $v->id_error_len);
        $this->dialect       = $v->dialect === 1 ? 'v1' : 'v3';
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->lib->ffi->tqn_job_free($this->handle);
            $this->handle = null;
        }
    }

    /** @internal the library handle, for RedisQueue */
    public function handle()
    {
        return $this->handle;
    }

    /** The logical queue name it was popped from. */
    public function getQueue()
    {
        return $this->queue;
    }

    /** The bytes that were in the ready list (think-queue's getRawBody()). */
    public function getRawBody()
    {
        return $this->raw;
    }

    /** The member of the reserved set that stands for this job (v3: the payload with attempts+1). */
    public function getReservedBody()
    {
        return $this->reserved;
    }

    /** think-queue's attempts(): 1 on the first run, in both dialects. */
    public function attempts()
    {
        if ($this->attemptsError !== null) {
            throw new MalformedPayloadException($this->attemptsError);
        }

        return $this->attempts;
    }

    /** The payload's `id`, or null. */
    public function getJobId()
    {
        if ($this->idError !== null) {
            throw new MalformedPayloadException($this->idError);
        }

        return $this->id;
    }

    /** The payload's `job` (handler name). */
    public function getName()
    {
        if ($this->nameError !== null) {
            throw new MalformedPayloadException($this->nameError);
        }

        return $this->name;
    }

    /** The whole payload, decoded like json_decode($raw, true). */
    public function payload()
    {
        if ($this->payloadError !== null) {
            throw new MalformedPayloadException($this->payloadError);
        }
        if ($this->decoded === null) {
            $this->decoded = json_decode($this->raw, true);
        }

        return $this->decoded;
    }

    /** The payload's `data` (null when absent). */
    public function getData()
    {
        $p = $this->payload();

        return array_key_exists('data', $p) ? $p['data'] : null;
    }

    /** v3 `maxTries`, or null. */
    public function maxTries()
    {
        return $this->intField('maxTries');
    }

    /** v3 `timeout`, or null. */
    public function timeout()
    {
        return $this->intField('timeout');
    }

    /** v3 `timeoutAt`, or null. */
    public function timeoutAt()
    {
        return $this->intField('timeoutAt');
    }

    /** A numeric payload field as the extension reads it: null when absent or null, numbers as int. */
    private function intField($name)
    {
        $p = $this->payload();
        $v = $p[$name] ?? null;
        if ($v === null || is_int($v)) {
            return $v;
        }
        if (is_float($v) && is_finite($v)) {
            return (int) $v;
        }
        throw new MalformedPayloadException("malformed payload in queue `{$this->queue}`: `$name` is not a number");
    }
}
