//! The Lua scripts, one per atomic queue operation. Each `.lua` file under `src/scripts/` starts
//! with a header naming its KEYS, ARGV and return value; `lib.lua` holds the helpers they share and
//! is prepended to each. Invoked with EVALSHA, falling back to SCRIPT LOAD on NOSCRIPT.
#![forbid(unsafe_code)]

use std::sync::LazyLock;

use redis::Script;

const LIB: &str = include_str!("scripts/lib.lua");

/// Every script file and its body, by name.
const FILES: [(&str, &str); 6] = [
    ("pop.lua", include_str!("scripts/pop.lua")),
    ("migrate.lua", include_str!("scripts/migrate.lua")),
    ("release.lua", include_str!("scripts/release.lua")),
    ("swap_reserved.lua", include_str!("scripts/swap_reserved.lua")),
    ("bury.lua", include_str!("scripts/bury.lua")),
    ("retry_dead.lua", include_str!("scripts/retry_dead.lua")),
];

/// The full source of a script (shared helpers prepended), by file name: `pop.lua`, `migrate.lua`,
/// `release.lua`, `swap_reserved.lua`, `bury.lua`, `retry_dead.lua`. For tests and operator tools.
pub fn script_source(name: &str) -> Option<String> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, body)| format!("{LIB}\n{body}"))
}

fn load(index: usize) -> Script {
    Script::new(&format!("{LIB}\n{}", FILES[index].1))
}

/// Migrate due delayed jobs and expired reservations, pop the head, reserve it.
pub(crate) static POP: LazyLock<Script> = LazyLock::new(|| load(0));
/// Migrate due delayed jobs and expired reservations only.
pub(crate) static MIGRATE: LazyLock<Script> = LazyLock::new(|| load(1));
/// Remove a reservation and add the job to the delayed set.
pub(crate) static RELEASE: LazyLock<Script> = LazyLock::new(|| load(2));
/// Replace a reserved member keeping its score.
pub(crate) static SWAP_RESERVED: LazyLock<Script> = LazyLock::new(|| load(3));
/// Move a reserved, unprocessable job to the dead-letter list.
pub(crate) static BURY: LazyLock<Script> = LazyLock::new(|| load(4));
/// Move dead-letter jobs back to the ready list, attempts reset.
pub(crate) static RETRY_DEAD: LazyLock<Script> = LazyLock::new(|| load(5));
