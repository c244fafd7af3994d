<?php
namespace think;

// Config with dot-path reads, as config->get('queue.connections.redis.type', 'sync').
class Config
{
    protected $items = [];

    public function set(array $items, $name)
    {
        $this->items[$name] = $items;

        return $this;
    }

    public function get($name = null, $default = null)
    {
        if ($name === null || $name === '') {
            return $this->items;
        }
        $node = $this->items;
        foreach (explode('.', $name) as $part) {
            if (!is_array($node) || !array_key_exists($part, $node)) {
                return $default;
            }
            $node = $node[$part];
        }

        return $node;
    }
}
