<?php
namespace think;

use ArrayAccess;
use Closure;
use InvalidArgumentException;
use ReflectionClass;
use ReflectionFunction;
use ReflectionFunctionAbstract;
use ReflectionMethod;
use ReflectionNamedType;

// The part of ThinkPHP 6's App/Container that think-queue uses:
//  - bind(name, class|Closure), instance(name, object), make(name, vars, newInstance);
//  - invokeClass(class, vars): a public static __make() is called instead of the constructor;
//  - parameters: class-typed ones are taken from vars when the next var is such an object, else
//    made by the container; untyped ones take the next positional var, else their default;
//  - invoke(callable) with the same binding; getNamespace(); $app->config / $app['name'].
class App implements ArrayAccess
{
    protected static $instance;

    protected $bind = [];

    protected $instances = [];

    protected $namespace = 'app';

    public function __construct()
    {
        static::$instance = $this;
        $this->instance('app', $this);
        $this->instance(self::class, $this);
        $this->instance(static::class, $this);
    }

    public static function getInstance()
    {
        return static::$instance;
    }

    public function getNamespace()
    {
        return $this->namespace;
    }

    public function bind($name, $concrete)
    {
        $this->bind[$name] = $concrete;

        return $this;
    }

    public function instance($name, $object)
    {
        $this->instances[$name] = $object;

        return $this;
    }

    public function has($name)
    {
        return isset($this->bind[$name]) || isset($this->instances[$name]);
    }

    public function make($name, $vars = [], $newInstance = false)
    {
        if (!$newInstance && isset($this->instances[$name])) {
            return $this->instances[$name];
        }
        $concrete = $this->bind[$name] ?? $name;
        if ($concrete instanceof Closure) {
            $object = $this->invokeFunction($concrete, $vars);
        } elseif ($concrete !== $name) {
            return $this->make($concrete, $vars, $newInstance);
        } else {
            $object = $this->invokeClass($concrete, $vars);
        }
        if (!$newInstance) {
            $this->instances[$name] = $object;
        }

        return $object;
    }

    public function invokeClass($class, $vars = [])
    {
        if (!class_exists($class)) {
            throw new InvalidArgumentException('class not exists: ' . $class);
        }
        $reflect = new ReflectionClass($class);
        if ($reflect->hasMethod('__make')) {
            $make = $reflect->getMethod('__make');
            if ($make->isPublic() && $make->isStatic()) {
                return $make->invokeArgs(null, $this->bindParams($make, $vars));
            }
        }
        $constructor = $reflect->getConstructor();

        return $constructor ? $reflect->newInstanceArgs($this->bindParams($constructor, $vars)) : $reflect->newInstance();
    }

    public function invoke($callable, $vars = [])
    {
        if ($callable instanceof Closure) {
            return $this->invokeFunction($callable, $vars);
        }
        if (is_array($callable)) {
            $method = new ReflectionMethod($callable[0], $callable[1]);

            return $method->invokeArgs(is_object($callable[0]) ? $callable[0] : null, $this->bindParams($method, $vars));
        }

        return $this->invokeFunction(Closure::fromCallable($callable), $vars);
    }

    public function invokeFunction($function, $vars = [])
    {
        $reflect = new ReflectionFunction($function);

        return $function(...$this->bindParams($reflect, $vars));
    }

    protected function bindParams(ReflectionFunctionAbstract $reflect, array $vars)
    {
        $args = [];
        foreach ($reflect->getParameters() as $param) {
            $type = $param->getType();
            if ($type instanceof ReflectionNamedType && !$type->isBuiltin()) {
                $class = $type->getName();
                if ($vars && reset($vars) instanceof $class) {
                    $args[] = array_shift($vars);
                } else {
                    $args[] = $this->make($class);
                }
            } elseif ($vars) {
                $args[] = array_shift($vars);
            } elseif ($param->isDefaultValueAvailable()) {
                $args[] = $param->getDefaultValue();
            } else {
                throw new InvalidArgumentException('method param miss:' . $param->getName());
            }
        }

        return $args;
    }

    public function __get($name)
    {
        return $this->make($name);
    }

    public function offsetExists($key): bool
    {
        return $this->has($key);
    }

    #[\ReturnTypeWillChange]
    public function offsetGet($key)
    {
        return $this->make($key);
    }

    public function offsetSet($key, $value): void
    {
        $this->bind($key, $value);
    }

    public function offsetUnset($key): void
    {
        unset($this->bind[$key], $this->instances[$key]);
    }
}
