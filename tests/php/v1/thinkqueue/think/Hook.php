<?php
namespace think;

// Tags with listeners; every listen() call is also recorded so tests can see which hooks fired.
class Hook
{
    private static $listeners = [];
    /** @var array list of [tag, params] in call order */
    public static $fired = [];

    public static function add($tag, callable $listener)
    {
        self::$listeners[$tag][] = $listener;
    }

    public static function listen($tag, &$params = null)
    {
        self::$fired[] = [$tag, $params];
        $results = [];
        foreach (self::$listeners[$tag] ?? [] as $listener) {
            $results[] = $listener($params);
        }

        return $results;
    }

    public static function reset()
    {
        self::$listeners = [];
        self::$fired     = [];
    }
}
