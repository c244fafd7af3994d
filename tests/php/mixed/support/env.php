<?php
/*
 * ThinkPHP's env() helper, as the app's config files call it: `env('redis.port', 6379)` reads
 * PHP_REDIS_PORT (then REDIS_PORT) from the environment. The think-queue stand-ins do not ship
 * ThinkPHP's helpers; tqn's config reader defines the same stand-in when it evaluates a file.
 */

if (!function_exists('env')) {
    function env($name = null, $default = null)
    {
        $key = strtoupper(str_replace('.', '_', (string) $name));
        foreach (['PHP_' . $key, $key] as $var) {
            $value = getenv($var);
            if ($value !== false) {
                return $value;
            }
        }

        return $default;
    }
}
