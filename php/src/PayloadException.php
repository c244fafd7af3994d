<?php
/*
 * Job data that json_encode refuses (nothing was written).
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded (the FFI backend), so both backends throw the same classes.
 */

namespace think\queue\native;

class PayloadException extends QueueException
{
}
