<?php
/*
 * Set-up and verdicts of the chaos scenarios, reading what the workers recorded in Redis:
 *
 *   php -d extension=... chaos/ctl.php <v1|v3> <command> [key=value ...]
 *
 *   counts                     one line: seen, deliveries, ready, delayed, reserved, dead, errors, failed
 *   delivery n=N mode=atleast|exactly [killed=FILE] [errors=ok]
 *                              jobs 0..N-1: lost, duplicates, queue keys; with killed=FILE (one
 *                              killed pid per line) every duplicate must come from a delivery by a
 *                              killed worker. Exit 1 when the verdict is FAIL (reasons printed).
 *   kinds split=S              who processed what: producer kind (n < S: stock, else native) x worker kind
 *   resumed t=UNIXTIME         seconds from t to the first delivery fired after t
 *   latency label=L [target_ms=X] [min=M]
 *                              p50/p90/p99/max of chaos:lat; exit 1 when p99 >= target (or fewer than M samples)
 *   malformed-setup            the malformed members and the good jobs around them (ready list + reserved set)
 *   malformed-check            verdict of scenario 6 (exit 1 on FAIL)
 *   dump-errors [max=K]        the reported exceptions, grouped
 *   recorder-check             self-check of the recorder against the server: one delivery whose reply
 *                              is lost after Redis applied it (retried by Rec::run) must be recorded
 *                              once; two deliveries of one payload (two pops) must be recorded twice.
 *                              Leaves n=0 recorded once and n=1 twice (same job id, same attempts)
 *                              for `delivery n=2` to judge. Exit 1 when the recorder is wrong.
 */

declare(strict_types=1);

namespace chaos;

require __DIR__ . '/lib.php';

$gen = $argv[1] ?? '';
$cmd = $argv[2] ?? '';
$opt = [];
foreach (array_slice($argv, 3) as $a) {
    [$k, $v] = explode('=', $a, 2) + [1 => ''];
    $opt[$k] = $v;
}
boot($gen);

function qdb(): \Redis
{
    $r = new \Redis();
    $r->connect(env('CHAOS_HOST', '127.0.0.1'), (int) env('CHAOS_PORT'), 2.0);

    return $r;
}

function rdb(): \Redis
{
    $r = qdb();
    $r->select((int) env('CHAOS_REC_DB', '1'));

    return $r;
}

function readyKey(string $gen): string
{
    return $gen === 'v1' ? 'queues:' . queueName() : '{queues:' . queueName() . '}';
}

/** @return array{ready:int, delayed:int, reserved:int, dead:int} */
function queueKeys(string $gen): array
{
    $q = qdb();
    $r = readyKey($gen);

    return ['ready' => $q->lLen($r), 'delayed' => $q->zCard("$r:delayed"), 'reserved' => $q->zCard("$r:reserved"),
            'dead' => $q->lLen("$r:dead")];
}

/** @return array<int, array{n:int, attempts:int, pid:int, t:float, kind:string, id:string, token:string}> */
function deliveries(): array
{
    $out = [];
    foreach (rdb()->lRange(LOG, 0, -1) as $line) {
        [$n, $a, $pid, $t, $kind, $id, $token] = explode(' ', $line) + [4 => '?', 5 => '-', 6 => ''];
        $out[] = ['n' => (int) $n, 'attempts' => (int) $a, 'pid' => (int) $pid, 't' => (float) $t, 'kind' => $kind, 'id' => $id,
                  'token' => $token];
    }

    return $out;
}

function line(string $label, $value): void
{
    printf("    %-44s %s\n", $label, $value);
}

function percentile(array $sorted, float $p): float
{
    $i = (int) ceil($p / 100 * count($sorted)) - 1;

    return $sorted[max(0, min(count($sorted) - 1, $i))];
}

switch ($cmd) {
    case 'counts':
        $r    = rdb();
        $seen = $r->hLen(SEEN);
        $k    = queueKeys($gen);
        printf("seen=%d log=%d ready=%d delayed=%d reserved=%d dead=%d errors=%d failed=%d\n", $seen, $r->lLen(LOG),
            $k['ready'], $k['delayed'], $k['reserved'], $k['dead'], $r->lLen(ERRORS), $r->lLen(FAILED));
        exit(0);

    case 'delivery':
        $n       = (int) ($opt['n'] ?? 0);
        $exactly = ($opt['mode'] ?? 'atleast') === 'exactly';
        $r       = rdb();
        $seen    = $r->hGetAll(SEEN);
        $lost    = $dupJobs = $extra = $unexpected = 0;
        $lostList = [];
        for ($i = 0; $i < $n; $i++) {
            $c = (int) ($seen[(string) $i] ?? 0);
            if ($c === 0) {
                $lost++;
                if (count($lostList) < 10) {
                    $lostList[] = $i;
                }
            } elseif ($c > 1) {
                $dupJobs++;
                $extra += $c - 1;
            }
        }
        foreach ($seen as $k => $c) {
            if ((int) $k < 0 || (int) $k >= $n) {
                $unexpected++;
            }
        }
        $keys     = queueKeys($gen);
        $errors   = $r->lLen(ERRORS);
        $failed   = $r->lLen(FAILED);
        $problems = [];
        line('jobs pushed', $n);
        line('distinct jobs processed (chaos:seen)', count($seen) . ' of ' . $n);
        line('deliveries in total', array_sum(array_map('intval', $seen)));
        line('lost (never processed)', $lost . ($lostList ? ' e.g. n=' . implode(',', $lostList) : ''));
        line('jobs processed more than once', "$dupJobs ($extra extra deliveries)");
        line('queue keys left (ready/delayed/reserved/dead)', implode('/', $keys));
        line('exceptions reported by workers', $errors);
        line('jobs failed by workers', $failed);
        if ($lost) {
            $problems[] = "$lost job(s) lost";
        }
        if ($unexpected) {
            $problems[] = "$unexpected unexpected job number(s)";
        }
        if (array_sum($keys)) {
            $problems[] = 'queue keys not empty: ' . json_encode($keys);
        }
        if ($exactly && $extra) {
            $problems[] = "$dupJobs job(s) processed more than once";
        }
        if (($opt['errors'] ?? '') !== 'ok' && $errors) {
            $problems[] = "$errors exception(s) reported";
        }
        if ($failed) {
            $problems[] = "$failed job(s) failed";
        }
        // the recorder's own bookkeeping: one token per recorded delivery, one log line per token
        // (chaos/lib.php Rec::seen); a mismatch is a harness fault, not a verdict on the queue
        $total   = array_sum(array_map('intval', $seen));
        $tokens  = $r->hLen(TOKENS);
        $retried = (int) $r->get(RETRIED);
        $logging = env('CHAOS_LOG', '1') === '1';
        $logged  = $logging ? deliveries() : [];
        $distinct = count(array_unique(array_column($logged, 'token')));
        $consistent = $tokens === $total && (!$logging || (count($logged) === $total && $distinct === $total));
        line('recorder: deliveries = tokens' . ($logging ? ' = log lines' : ''), ($consistent ? 'yes' : 'NO') . " ($total / $tokens"
            . ($logging ? ' / ' . count($logged) . ", $distinct distinct tokens" : '') . ')');
        line('recorder: retried recordings already applied', "$retried (recorded once)");
        if (!$consistent) {
            $problems[] = 'recorder inconsistent (a delivery recorded twice, or a record without its token): the duplicate counts cannot be trusted';
        }
        $again = null;
        if ($logging) {
            $again = 0;
            foreach ($logged as $d) {
                $again += $d['attempts'] > 1 ? 1 : 0;
            }
            line('deliveries with attempts > 1 (came back)', $again);
        }
        if ($dupJobs && $logging) {
            // explain every duplicate: which deliveries came first, by whom, with which attempts.
            // Each log line is one delivery (its own token: a retried recording adds no line), so
            // two lines of one job are two deliveries, not one delivery recorded twice.
            $byJob = [];
            foreach ($logged as $d) {
                $byJob[$d['n']][] = $d;
            }
            $killed = [];
            if (($opt['killed'] ?? '') !== '' && is_file($opt['killed'])) {
                $killed = array_flip(array_map('intval', file($opt['killed'], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES)));
            }
            $byKilled = $unexplained = $redelivered = $copies = $twice = 0;
            $examples = [];
            foreach ($byJob as $job => $ds) {
                if (count($ds) < 2) {
                    continue;
                }
                usort($ds, static function ($a, $b) {
                    return $a['t'] <=> $b['t'];
                });
                for ($i = 0; $i < count($ds) - 1; $i++) {
                    $next = $ds[$i + 1];
                    if ($next['attempts'] > $ds[$i]['attempts']) {
                        $redelivered++;
                    } elseif ($next['id'] !== $ds[$i]['id']) {
                        $copies++;
                    } else {
                        $twice++;
                    }
                    if (isset($killed[$ds[$i]['pid']])) {
                        $byKilled++;
                    } else {
                        $unexplained++;
                    }
                }
                if (count($examples) < 3) {
                    $examples[] = "n=$job: " . implode(' -> ', array_map(static function ($d) {
                        return sprintf('pid %d attempts %d id %s at %s', $d['pid'], $d['attempts'], substr($d['id'], 0, 8),
                            date('H:i:s', (int) $d['t']) . substr(sprintf('%.3f', fmod($d['t'], 1)), 1));
                    }, $ds));
                }
            }
            line('  extra: same job id, attempts+1 (came back)', $redelivered);
            line('  extra: another job id (the job pushed twice)', $copies);
            line('  extra: same job id, same attempts', $twice);
            if ($twice) {
                $problems[] = "$twice delivery(ies) of the same payload without an attempts increase";
            }
            if ($killed) {
                line('  earlier delivery by a SIGKILLed worker', $byKilled);
                line('  earlier delivery by a worker never killed', $unexplained);
                if ($unexplained) {
                    $problems[] = "$unexplained duplicate(s) not explained by a kill";
                }
            }
            foreach ($examples as $e) {
                line('  e.g.', $e);
            }
        }
        if (isset($opt['kills'])) {
            $kills = (int) $opt['kills'];
            line('workers SIGKILLed', $kills);
            line('duplicates <= kills', $dupJobs <= $kills ? "yes ($dupJobs jobs, $extra extra deliveries <= $kills)"
                : "NO ($dupJobs > $kills)");
            if ($extra > $kills) {
                $problems[] = "more extra deliveries ($extra) than kills ($kills)";
            }
            if ($again !== null) {
                // a kill strands at most the one job its worker held
                line('jobs that came back <= kills', $again <= $kills ? "yes ($again <= $kills)" : "NO ($again > $kills)");
                if ($again > $kills) {
                    $problems[] = "more jobs came back ($again) than workers were killed ($kills)";
                }
            }
        }
        foreach ($problems as $p) {
            line('problem', $p);
        }
        exit($problems ? 1 : 0);

    case 'kinds':
        $split = (int) ($opt['split'] ?? 0);
        $m     = [];
        foreach (deliveries() as $d) {
            $p = $d['n'] < $split ? 'stock producer' : 'native producer';
            $m[$p][$d['kind']] = ($m[$p][$d['kind']] ?? 0) + 1;
        }
        foreach (['stock producer', 'native producer'] as $p) {
            line("pushed by $p, processed by", sprintf('stock worker %d, native worker %d', $m[$p]['stock'] ?? 0, $m[$p]['native'] ?? 0));
        }
        exit(0);

    case 'resumed':
        $t     = (float) ($opt['t'] ?? 0);
        $first = null;
        $after = 0;
        foreach (deliveries() as $d) {
            if ($d['t'] > $t) {
                $after++;
                $first = $first === null ? $d['t'] : min($first, $d['t']);
            }
        }
        echo $first === null ? "none\n" : sprintf("%.3f %d\n", $first - $t, $after);
        exit(0);

    case 'latency':
        $xs = [];
        foreach (rdb()->lRange(LAT, 0, -1) as $l) {
            $xs[] = (float) explode(' ', $l)[1] * 1000;
        }
        sort($xs);
        $label = $opt['label'] ?? '';
        if (!$xs) {
            line("$label", 'no samples');
            exit(1);
        }
        line("$label: jobs measured", count($xs));
        line("$label: push -> fire p50 / p90 / p99 / max", sprintf('%.3f / %.3f / %.3f / %.3f ms', percentile($xs, 50),
            percentile($xs, 90), percentile($xs, 99), end($xs)));
        $bad = false;
        if (isset($opt['min']) && count($xs) < (int) $opt['min']) {
            line('problem', count($xs) . ' samples, expected ' . $opt['min']);
            $bad = true;
        }
        if (isset($opt['target_ms'])) {
            $ok = percentile($xs, 99) < (float) $opt['target_ms'];
            line("$label: p99 < {$opt['target_ms']} ms", $ok ? 'yes' : 'NO');
            $bad = $bad || !$ok;
        }
        exit($bad ? 1 : 0);

    case 'malformed-setup':
        $q     = qdb();
        $ready = readyKey($gen);
        if ($gen === 'v1') {
            setupV1(['expire' => retryAfter()]);
            $push = static function (array $data) {
                return pushV1(JOB, $data);
            };
            $goodReserved = json_encode(['job' => JOB, 'data' => ['n' => 5], 'id' => 'chaosReservedGoodJob000000000000', 'attempts' => 1]);
        } else {
            $app  = app(['retry_after' => retryAfter()]);
            $push = static function (array $data) use ($app) {
                return push($app, JOB, $data);
            };
            // a reserved copy as stock 3.x writes it (attempts already + 1)
            $goodReserved = json_encode(['job' => JOB, 'maxTries' => null, 'timeout' => null, 'data' => ['n' => 5],
                'id' => 'chaosReservedGoodJob000000000000', 'attempts' => 1]);
        }
        $readyBad    = ['not json', '{"job":"X","data":1}', '[1,2]', '{"job":5,"attempts":0}'];
        $reservedBad = ['not json either', '{"job":"X","data":2}', '[1,2,3]', '{"job":6,"attempts":0}'];
        $push(['n' => 0]);
        foreach ($readyBad as $i => $bad) {
            $q->rPush($ready, $bad);
            $push(['n' => $i + 1]);
        }
        $past = time() - 100;
        foreach ($reservedBad as $bad) {
            $q->zAdd("$ready:reserved", $past, $bad);
        }
        $q->zAdd("$ready:reserved", $past, $goodReserved);
        line("ready list $ready", implode('  ', array_map(static function ($m) {
            return strlen($m) > 40 ? substr($m, 0, 37) . '...' : $m;
        }, $q->lRange($ready, 0, -1))));
        line("reserved set (score now-100)", implode('  ', array_map(static function ($m) {
            return strlen($m) > 40 ? substr($m, 0, 37) . '...' : $m;
        }, $q->zRange("$ready:reserved", 0, -1))));
        file_put_contents(env('CHAOS_TMP', sys_get_temp_dir()) . "/malformed-$gen.json", json_encode(['ready' => $readyBad, 'reserved' => $reservedBad]));
        exit(0);

    case 'malformed-check':
        $q        = qdb();
        $r        = rdb();
        $ready    = readyKey($gen);
        $placed   = json_decode(file_get_contents(env('CHAOS_TMP', sys_get_temp_dir()) . "/malformed-$gen.json"), true);
        $dead     = $q->lRange("$ready:dead", 0, -1);
        $problems = [];
        line("dead-letter list $ready:dead", count($dead) . ' member(s)');
        foreach ($dead as $m) {
            line('  ', $m);
        }
        $deadCount = array_count_values($dead);
        foreach (['ready' => $placed['ready'], 'reserved' => $placed['reserved']] as $where => $members) {
            foreach ($members as $m) {
                $c = $deadCount[$m] ?? 0;
                $alt = null;
                if ($c === 0 && $gen === 'v1' && $where === 'reserved') {
                    // 1.x re-encodes an expired reservation with attempts + 1 on its way back
                    $d = json_decode($m, true);
                    if (is_array($d) && isset($d['attempts']) && is_int($d['attempts'])) {
                        $d['attempts']++;
                        $alt = json_encode($d);
                        $c   = $deadCount[$alt] ?? 0;
                    }
                }
                line("  placed in $where: $m", "in :dead $c time(s)" . ($alt !== null && $c ? " (as $alt)" : ''));
                if ($c !== 1) {
                    $problems[] = "`$m` (placed in $where) is in :dead $c time(s), expected once";
                }
            }
        }
        $seen = $r->hGetAll(SEEN);
        ksort($seen);
        line("good jobs processed (n => deliveries)", json_encode($seen, JSON_FORCE_OBJECT));
        for ($i = 0; $i <= 5; $i++) {
            if ((int) ($seen[(string) $i] ?? 0) !== 1) {
                $problems[] = "good job n=$i processed " . (int) ($seen[(string) $i] ?? 0) . ' time(s), expected once';
            }
        }
        $keys = queueKeys($gen);
        line('queue keys left (ready/delayed/reserved)', "{$keys['ready']}/{$keys['delayed']}/{$keys['reserved']}");
        if ($keys['ready'] + $keys['delayed'] + $keys['reserved']) {
            $problems[] = 'queue keys not empty';
            foreach ($q->lRange($ready, 0, -1) as $m) {
                line('  left in ready', $m);
            }
            foreach ($q->zRange("$ready:reserved", 0, -1, true) as $m => $s) {
                line('  left in reserved', "$m (score $s)");
            }
            foreach ($q->zRange("$ready:delayed", 0, -1, true) as $m => $s) {
                line('  left in delayed', "$m (score $s)");
            }
        }
        $errors = $r->lRange(ERRORS, 0, -1);
        $failed = $r->lRange(FAILED, 0, -1);
        line('exceptions reported by the worker', count($errors));
        foreach (array_slice($errors, 0, 12) as $e) {
            line('  ', strlen($e) > 150 ? substr($e, 0, 147) . '...' : $e);
        }
        line('jobs failed by the worker (JobFailed / queue_failed)', count($failed));
        $expected = count($placed['ready']) + count($placed['reserved']);
        if (count($errors) > $expected) {
            $problems[] = count($errors) . " exceptions reported for $expected malformed members (a loop?)";
        }
        foreach ($problems as $p) {
            line('problem', $p);
        }
        exit($problems ? 1 : 0);

    case 'recorder-check':
        $r = rdb();
        $r->del(SEEN, LOG, TOKENS, RETRIED);
        $problems = [];
        $check = static function (string $what, $got, $want) use (&$problems) {
            line($what, $got === $want ? "$got" : "$got, expected $want");
            if ($got !== $want) {
                $problems[] = "$what: $got, expected $want";
            }
        };
        // 1. one delivery; Redis applies the recording, its reply is lost, Rec::run reconnects and
        //    sends the same recording again
        Rec::$loseReplies = 1;
        $again = Rec::seen(0, 1, microtime(true), 'native', 'selfCheckJobA');
        $check('1 delivery, reply lost once: retry recorded again', $again ? 'yes' : 'no', 'no');
        $check('  chaos:seen n=0', (int) $r->hGet(SEEN, '0'), 1);
        $check('  chaos:log lines', $r->lLen(LOG), 1);
        $check('  chaos:rec-retried', (int) $r->get(RETRIED), 1);
        // 2. one payload popped twice (same job id, same attempts): two deliveries, two records
        $a = Rec::seen(1, 1, microtime(true), 'native', 'selfCheckJobB');
        $b = Rec::seen(1, 1, microtime(true), 'native', 'selfCheckJobB');
        $check('2 deliveries of one payload: both recorded', $a && $b ? 'yes' : 'no', 'yes');
        $check('  chaos:seen n=1', (int) $r->hGet(SEEN, '1'), 2);
        $check('  chaos:log lines', $r->lLen(LOG), 3);
        $check('  chaos:tokens', $r->hLen(TOKENS), 3);
        foreach ($problems as $p) {
            line('problem', $p);
        }
        exit($problems ? 1 : 0);

    case 'dump-errors':
        $groups = [];
        foreach (rdb()->lRange(ERRORS, 0, -1) as $e) {
            $text = preg_replace('/^\d+ /', '', $e);
            $text = preg_replace('/\d+(\.\d+)?/', 'N', $text);
            $groups[$text] = ($groups[$text] ?? 0) + 1;
        }
        arsort($groups);
        foreach (array_slice($groups, 0, (int) ($opt['max'] ?? 6), true) as $text => $c) {
            line("  {$c}x", strlen($text) > 140 ? substr($text, 0, 137) . '...' : $text);
        }
        exit(0);

    default:
        fwrite(STDERR, "ctl: unknown command '$cmd'\n");
        exit(2);
}
