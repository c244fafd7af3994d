<?php
namespace think;

// Event dispatcher keyed by event class; every triggered event object is also recorded.
class Event
{
    protected $listeners = [];

    /** @var object[] events in trigger order */
    public $triggered = [];

    public function listen($event, $listener)
    {
        $this->listeners[$event][] = $listener;

        return $this;
    }

    public function trigger($event, $params = null)
    {
        $this->triggered[] = $event;
        $results = [];
        foreach ($this->listeners[is_object($event) ? get_class($event) : $event] ?? [] as $listener) {
            $results[] = $listener($event);
        }

        return $results;
    }
}
