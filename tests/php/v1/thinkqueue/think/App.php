<?php
namespace think;

// ThinkPHP 5.0 keeps the application namespace in a static; think-queue 1.x resolves short job
// names under it.
class App
{
    public static $namespace = 'app';
}
