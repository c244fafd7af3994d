<?php
/*
 * A payload read from Redis is not what think-queue writes.
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded (the FFI backend), so both backends throw the same classes.
 */

namespace think\queue\native;

class MalformedPayloadException extends QueueException
{
}
