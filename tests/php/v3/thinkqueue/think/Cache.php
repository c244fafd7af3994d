<?php
namespace think;

// In-memory cache store (the worker reads 'think:queue:restart').
class Cache
{
    protected $items = [];

    public function get($name, $default = null)
    {
        return array_key_exists($name, $this->items) ? $this->items[$name] : $default;
    }

    public function set($name, $value)
    {
        $this->items[$name] = $value;

        return true;
    }
}
