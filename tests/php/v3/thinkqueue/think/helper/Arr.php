<?php
namespace think\helper;

class Arr
{
    // $array[$key] when that key exists, else a dot path ('data.user.id'), else $default.
    public static function get($array, $key, $default = null)
    {
        if (!is_array($array)) {
            return $default;
        }
        if ($key === null) {
            return $array;
        }
        if (array_key_exists($key, $array)) {
            return $array[$key];
        }
        if (strpos((string) $key, '.') === false) {
            return $default;
        }
        foreach (explode('.', $key) as $segment) {
            if (!is_array($array) || !array_key_exists($segment, $array)) {
                return $default;
            }
            $array = $array[$segment];
        }

        return $array;
    }

    public static function pull(&$array, $key, $default = null)
    {
        $value = self::get($array, $key, $default);
        unset($array[$key]);

        return $value;
    }
}
