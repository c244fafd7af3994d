<?php
namespace think\facade;

use think\Facade;

class Queue extends Facade
{
    protected static function getFacadeClass()
    {
        return 'queue';
    }
}
