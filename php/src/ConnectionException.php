<?php
/*
 * Dead Redis, dropped connection, timeout.
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded (the FFI backend), so both backends throw the same classes.
 */

namespace think\queue\native;

class ConnectionException extends QueueException
{
}
