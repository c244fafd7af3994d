<?php
namespace think\helper;

class Str
{
    // 'some-name_x' -> 'SomeNameX'
    public static function studly($value)
    {
        return str_replace(' ', '', ucwords(str_replace(['-', '_'], ' ', $value)));
    }
}
