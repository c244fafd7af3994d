<?php
/*
 * Mixed Rust/PHP deployments on think-queue 3.x queues (ThinkPHP 6/8, keys {queues:NAME}): the
 * cases of MixedCases, with the app's think\facade\Queue, the queue() helper and the 3.x worker
 * stand-in through the shim connector.
 */

declare(strict_types=1);

namespace tqn\tests\mixed;

use think\facade\Queue;
use think\queue\native\connector\Redis as NativeConnector;
use tqn\tests\v3\V3TestCase;

final class MixedV3Test extends V3TestCase
{
    use MixedCases;

    protected static function dialect(): string
    {
        return 'v3';
    }

    protected static function readyKey(string $queue): string
    {
        return '{queues:' . $queue . '}';
    }

    protected static function payloadFor(string $job, $data, string $id): string
    {
        return json_encode(['job' => $job, 'maxTries' => null, 'timeout' => null, 'data' => $data, 'id' => $id, 'attempts' => 0]);
    }

    protected static function writeConfigFile(string $dir, string $queue, array $overrides = []): string
    {
        $config = static::queueConfig();
        $config['connections']['redis'] = $overrides + ['queue' => $queue] + $config['connections']['redis'];
        $config['failed'] = ['type' => 'none', 'table' => 'failed_jobs'];
        $text = var_export($config, true);
        $port = "'port' => " . TQN_REDIS_PORT . ',';
        self::assertStringContainsString($port, $text);
        $text = str_replace($port, "'port' => (int) env('redis.port', 6379),", $text);
        $file = "$dir/queue.php";
        file_put_contents($file, "<?php\n// config/queue.php of a ThinkPHP 6 app\nreturn $text;\n");

        return $file;
    }

    protected static function connectorFromConfig(array $config): NativeConnector
    {
        // as think-queue 3.x's Queue manager builds a driver: __make() with the connection's config
        return NativeConnector::__make($config['connections'][$config['default']]);
    }

    protected static function configVariants(): array
    {
        return [
            'retry_after null is 60, as stock 3.x' => ['retry_after' => null],
            '3.x keys win, 1.x keys are not 3.x keys' => ['retry_after' => 90, 'queue' => 'mine', 'expire' => null, 'default' => 'theirs'],
            'dialect override keeps the 3.x keys'  => ['dialect' => 'v1', 'retry_after' => 45, 'expire' => 5],
            'PHP-typed values'                     => ['retry_after' => '30', 'select' => '0', 'persistent' => '1', 'timeout' => '1.5', 'lease' => 1],
        ];
    }

    protected function phpPush(string $job, $data, string $queue): ?string
    {
        return Queue::push($job, $data, $queue);
    }

    protected function workOnce(string $queue, int $tries = 0): void
    {
        $this->work($queue, $tries);
    }

    protected function drain(string $queue, int $tries = 0): int
    {
        $taken = 0;
        while ($this->work($queue, $tries) !== null) {
            $taken++;
            if ($taken > 10000) {
                $this->fail("queue $queue never ran empty");
            }
        }

        return $taken;
    }
}
