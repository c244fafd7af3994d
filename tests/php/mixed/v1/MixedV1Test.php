<?php
/*
 * Mixed Rust/PHP deployments on think-queue 1.x/2.x queues (ThinkPHP 5.0/5.1, keys queues:NAME):
 * the cases of MixedCases, with the app's think\Queue facade, the queue() helper and the 1.x
 * worker stand-in through the shim connector.
 */

declare(strict_types=1);

namespace tqn\tests\mixed;

use think\Queue;
use think\queue\native\connector\Redis as NativeConnector;
use tqn\tests\v1\V1TestCase;

final class MixedV1Test extends V1TestCase
{
    use MixedCases;

    protected static function dialect(): string
    {
        return 'v1';
    }

    protected static function readyKey(string $queue): string
    {
        return "queues:$queue";
    }

    protected static function payloadFor(string $job, $data, string $id): string
    {
        return json_encode(['job' => $job, 'data' => $data, 'id' => $id, 'attempts' => 1]);
    }

    protected static function writeConfigFile(string $dir, string $queue, array $overrides = []): string
    {
        $text = var_export(self::config($overrides + ['default' => $queue]), true);
        $port = "'port' => " . TQN_REDIS_PORT . ',';
        self::assertStringContainsString($port, $text);
        $text = str_replace($port, "'port' => (int) env('redis.port', 6379),", $text);
        $file = "$dir/queue.php";
        file_put_contents($file, "<?php\n// application/extra/queue.php of a ThinkPHP 5.0 app\nreturn $text;\n");

        return $file;
    }

    protected static function connectorFromConfig(array $config): NativeConnector
    {
        return new NativeConnector($config); // as think\Queue builds it from the whole queue config
    }

    protected static function configVariants(): array
    {
        return [
            'expire null: no expiry'                   => ['expire' => null],
            '1.x keys win, 3.x keys are not 1.x keys'  => ['expire' => 90, 'default' => 'mine', 'retry_after' => 5, 'queue' => 'theirs'],
            'dialect override keeps the 1.x keys'      => ['dialect' => 'v3', 'expire' => 45],
            'PHP-typed values'                         => ['expire' => '30', 'select' => '0', 'persistent' => '1', 'timeout' => '1.5', 'lease' => 1],
        ];
    }

    protected function phpPush(string $job, $data, string $queue): ?string
    {
        return Queue::push($job, $data, $queue);
    }

    protected function workOnce(string $queue, int $tries = 0): void
    {
        try {
            self::work($queue, $tries);
        } catch (\RuntimeException $e) {
            // the 1.x worker rethrows a handler's exception after releasing the job
        }
    }

    protected function drain(string $queue, int $tries = 0): int
    {
        $taken = 0;
        for ($round = 0; $round < 10000; $round++) {
            try {
                if (self::work($queue, $tries)['job'] === null) {
                    return $taken;
                }
            } catch (\RuntimeException $e) {
                // released by the worker
            }
            $taken++;
        }
        $this->fail("queue $queue never ran empty");
    }
}
