<?php
declare(strict_types=1);

namespace tqn\tests\support;

/** The stock-observed payload vectors (tests/data/payloads.jsonl). */
final class Vectors
{
    public const FILE = TQN_ROOT . '/tests/data/payloads.jsonl';

    /** @return array<string, array{0: array}> data-provider rows `<version> <id>` => [case] */
    public static function provide(string $version): array
    {
        $lines = file(self::FILE, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        if ($lines === false || $lines === []) {
            throw new \RuntimeException('cannot read ' . self::FILE);
        }
        $rows = [];
        foreach ($lines as $line) {
            $case = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            if ($case['version'] === $version) {
                $rows[$version . ' ' . $case['id']] = [$case];
            }
        }

        return $rows;
    }

    /** @return array{0: string, 1: mixed, 2: ?string} the exact PHP values given to push/later */
    public static function input(array $case): array
    {
        $bytes  = $case['input'] ?? base64_decode($case['input_b64'], true);
        $values = unserialize($bytes, ['allowed_classes' => ['stdClass']]);
        if (!is_array($values) || count($values) !== 3) {
            throw new \RuntimeException('bad input in vector ' . $case['id']);
        }

        return $values;
    }

    public static function withId(string $template, string $id): string
    {
        return str_replace('<ID>', $id, $template);
    }

    /** The payload with its trailing `"attempts":N}` replaced by N+1 (what our reserved copy is). */
    public static function bumpAttempts(string $payload): string
    {
        $out = preg_replace_callback('/"attempts":(\d+)\}$/', static fn (array $m): string => '"attempts":' . ((int) $m[1] + 1) . '}', $payload, 1, $count);
        if ($count !== 1) {
            throw new \RuntimeException('payload does not end in "attempts":N}: ' . $payload);
        }

        return $out;
    }
}
