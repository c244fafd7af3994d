<?php
declare(strict_types=1);

namespace tqn\tests\support;

/** What the job fixtures did, in order: [what, details...]. */
final class Recorder
{
    /** @var array<int, array> */
    public static array $log = [];

    public static function record(string $what, array $details = []): void
    {
        self::$log[] = ['what' => $what] + $details;
    }

    /** @return array<int, array> the entries of one kind */
    public static function only(string $what): array
    {
        return array_values(array_filter(self::$log, static fn (array $e): bool => $e['what'] === $what));
    }

    public static function reset(): void
    {
        self::$log = [];
    }
}
