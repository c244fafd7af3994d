<?php
/*
 * Where the time of one pop+delete goes (scripts/profile.sh runs it):
 *
 *   php -d extension=target/release/libthink_queue_native.so bench/php/profile.php PORT [jobs]
 *
 * For the round-trip floor (phpredis PING), the native RedisQueue pop()+ack() and pop()+
 * deleteReserved() loops and the stock algorithm's pop()+delete() (bench/php/StockRedisQueue.php),
 * in the same process, alternating over rounds: wall time per job, this process's CPU per job
 * (user and system, getrusage), Redis commands sent per job and the server's own time per job
 * (INFO commandstats: usec summed over every command). What is left (wall - client CPU - server
 * time) is waiting: the network stack and waking the two processes up, which a round trip costs
 * whatever is sent. Prints one table; medians over the rounds. PROFILE_JSON=FILE also appends one
 * JSON line per loop to FILE; PROFILE_ROUNDS (3) sets the rounds.
 */

declare(strict_types=1);

use think\queue\native\RedisQueue;
use tqn\bench\StockRedisQueue;

require __DIR__ . '/StockRedisQueue.php';

$port   = (int) ($argv[1] ?? 0);
$jobs   = (int) ($argv[2] ?? 20000);
$rounds = (int) (getenv('PROFILE_ROUNDS') ?: 3);
if ($port <= 0 || $jobs <= 0) {
    fwrite(STDERR, "usage: profile.php PORT [jobs]\n");
    exit(2);
}
if (!extension_loaded('think_queue_native')) {
    fwrite(STDERR, "profile.php: the think_queue_native extension is not loaded\n");
    exit(3);
}

$admin = new \Redis();
$admin->connect('127.0.0.1', $port, 2.0);
$data = ['mobile' => '13800138000', 'content' => 'your code is 123456', 'n' => 42];

/** [user µs, system µs, wall s] of this process now */
function sample(): array
{
    $u = getrusage();

    return [
        $u['ru_utime.tv_sec'] * 1e6 + $u['ru_utime.tv_usec'],
        $u['ru_stime.tv_sec'] * 1e6 + $u['ru_stime.tv_usec'],
        microtime(true),
    ];
}

/** [commands, server µs] summed over INFO commandstats (the admin's own INFO excluded: reset before) */
function serverStats(\Redis $admin): array
{
    $calls = 0;
    $usec  = 0.0;
    foreach ($admin->info('commandstats') as $name => $line) {
        if ($name === 'cmdstat_info' || $name === 'cmdstat_config') {
            continue;
        }
        if (preg_match('/calls=(\d+),usec=(\d+)/', (string) $line, $m)) {
            $calls += (int) $m[1];
            $usec += (float) $m[2];
        }
    }

    return [$calls, $usec];
}

/** Runs $work (which handles $n jobs) and returns its per-job figures. */
function measure(\Redis $admin, int $n, \Closure $work): array
{
    $admin->rawCommand('CONFIG', 'RESETSTAT');
    $a = sample();
    $work();
    $b = sample();
    [$calls, $server] = serverStats($admin);
    $wall = ($b[2] - $a[2]) * 1e6 / $n;
    $user = ($b[0] - $a[0]) / $n;
    $sys  = ($b[1] - $a[1]) / $n;

    return [
        'wall'   => $wall,
        'user'   => $user,
        'sys'    => $sys,
        'server' => $server / $n,
        'cmds'   => $calls / $n,
        'wait'   => max(0.0, $wall - $user - $sys - $server / $n),
    ];
}

function fill(RedisQueue $q, string $queue, int $n, array $data): void
{
    $batch = [];
    for ($i = 0; $i < $n; $i++) {
        $batch[] = ['app\job\SendSms', $data + ['i' => $i]];
    }
    $q->bulk($batch, '', $queue);
}

$results = [];
for ($round = 0; $round < $rounds; $round++) {
    $ping = new \Redis();
    $ping->connect('127.0.0.1', $port, 2.0);
    $results['PING (phpredis): the round-trip floor'][] = measure($admin, $jobs, static function () use ($ping, $jobs) {
        for ($i = 0; $i < $jobs; $i++) {
            $ping->ping();
        }
    });
    foreach (['v1', 'v3'] as $gen) {
        $native = new RedisQueue(['port' => $port, 'dialect' => $gen]);
        fill($native, 'profile', $jobs, $data);
        $results["$gen native pop + ack (deferred delete)"][] = measure($admin, $jobs, static function () use ($native) {
            while (($job = $native->pop('profile')) !== null) {
                $native->ack($job);
            }
            $native->flush();
        });
        fill($native, 'profile', $jobs, $data);
        $results["$gen native pop + deleteReserved"][] = measure($admin, $jobs, static function () use ($native) {
            while (($job = $native->pop('profile')) !== null) {
                $native->deleteReserved($job);
            }
        });
        $stock = new StockRedisQueue($gen === 'v1' ? ['port' => $port] : ['port' => $port, 'retry_after' => 60], $gen);
        fill($native, 'profile', $jobs, $data);
        $results["$gen stock pop + delete"][] = measure($admin, $jobs, static function () use ($stock) {
            while (($job = $stock->pop('profile')) !== null) {
                $job->delete();
            }
        });
        $native->close();
    }
}

function median(array $xs): float
{
    sort($xs);
    $n = count($xs);

    return $n % 2 ? $xs[intdiv($n, 2)] : ($xs[$n / 2 - 1] + $xs[$n / 2]) / 2;
}

$floor = median(array_column($results['PING (phpredis): the round-trip floor'], 'wall'));
printf("%d jobs per loop, %d rounds, medians; µs per job (per PING for the floor)\n", $jobs, $rounds);
printf("%-44s %8s %6s %8s %8s %8s %8s %8s\n", 'loop', 'wall', 'RTs', 'cmds', 'server', 'user', 'system', 'waiting');
foreach ($results as $name => $rows) {
    $m = [];
    foreach (['wall', 'cmds', 'server', 'user', 'sys', 'wait'] as $k) {
        $m[$k] = median(array_column($rows, $k));
    }
    printf(
        "%-44s %8.1f %6.2f %8.2f %8.1f %8.1f %8.1f %8.1f\n",
        $name, $m['wall'], $m['wall'] / $floor, $m['cmds'], $m['server'], $m['user'], $m['sys'], $m['wait']
    );
    if (getenv('PROFILE_JSON')) {
        file_put_contents((string) getenv('PROFILE_JSON'), json_encode(['bench' => 'profile', 'loop' => $name, 'rts' => $m['wall'] / $floor] + $m) . "\n", FILE_APPEND);
    }
}
echo "RTs: wall per job / wall per PING. cmds: Redis commands per job (a script's inner calls counted too).\n";
echo "server: Redis's own time per job (INFO commandstats). user/system: this PHP process's CPU.\n";
echo "waiting: the rest (network stack, waking the two processes; a round trip costs it whatever is sent).\n";
