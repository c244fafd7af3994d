<?php
/*
 * Base of the family: a Redis error reply, an internal error, anything else.
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded (the FFI backend), so both backends throw the same classes.
 */

namespace think\queue\native;

class QueueException extends \RuntimeException
{
}
