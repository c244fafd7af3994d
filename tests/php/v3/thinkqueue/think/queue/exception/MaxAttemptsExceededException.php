<?php
namespace think\queue\exception;

class MaxAttemptsExceededException extends \RuntimeException
{
}
