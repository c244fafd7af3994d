<?php
namespace think\queue;

// Marker interface, unused by the library itself.
interface ShouldQueue
{
}
