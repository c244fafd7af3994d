<?php
/*
 * A bad option value, or neither the extension nor the FFI library is usable.
 *
 * The extension registers this class itself; this file is autoloaded only when the extension is
 * not loaded (the FFI backend), so both backends throw the same classes.
 */

namespace think\queue\native;

class ConfigException extends QueueException
{
}
