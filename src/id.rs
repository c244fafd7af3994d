//! Job ids: 32 ASCII letters, as think-helper's `Str::random(32)` gives them (think-helper >= 3.1.3).
//!
//! Ids made by [`new_job_id_at`] (every payload this crate builds) spell, in their first ten
//! letters, the unix millisecond the job becomes available (eight letters, base 52) and a check
//! of it (two letters), then 22 random letters; [`available_at`] reads it back, so a worker knows
//! how long the job waited (see the metrics module) without a byte added to the payload. An id
//! made by stock PHP passes the check by chance with a probability of about 1 in 2,704 times the
//! plausibility window (the time must lie within the week before it is read), under 1 in 10^8.
//!
//! Not cryptographic: ids only need to be unique enough that two payloads never collide in a ZSET.
//! Each thread keeps a splitmix64 generator seeded from the OS-keyed `RandomState`, the time
//! and the process id; it reseeds when the process id changes, so a forked child never repeats its
//! parent's ids.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

const LETTERS: &[u8; 52] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of a job id.
pub const JOB_ID_LEN: usize = 32;

thread_local! {
    static STATE: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
}

fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    // never zero: the generator would stay at zero
    h.finish() | 1
}

/// splitmix64 step: good statistical quality, one multiply-xorshift chain per word.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Letters of the availability stamp at the start of an id from [`new_job_id_at`].
const STAMP_LEN: usize = 10;

/// How far back an availability stamp may lie to be believed (a week, in milliseconds).
const STAMP_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

fn stamp_check(ms: u64) -> u64 {
    let mut s = ms ^ 0x7471_6e5f_7761_6974; // "tqn_wait"
    next(&mut s) % (52 * 52)
}

/// A fresh job id (see [`new_job_id`]) whose first ten letters say that the job becomes available
/// at unix millisecond `available_ms` (its push, or the due time of a delayed job).
pub fn new_job_id_at(available_ms: i64) -> String {
    let ms = u64::try_from(available_ms).unwrap_or(0);
    let mut out = String::with_capacity(JOB_ID_LEN);
    let mut digits = [0u8; 8];
    let mut rest = ms;
    for d in digits.iter_mut().rev() {
        *d = LETTERS[(rest % 52) as usize];
        rest /= 52;
    }
    out.extend(digits.iter().map(|&b| b as char));
    let check = stamp_check(ms);
    out.push(LETTERS[(check / 52) as usize] as char);
    out.push(LETTERS[(check % 52) as usize] as char);
    out.push_str(&new_job_id()[STAMP_LEN..]);
    out
}

/// The unix millisecond an id made by [`new_job_id_at`] says its job became available, if `id`
/// carries a valid stamp no later than `now_ms` and less than a week before it.
pub fn available_at(id: &str, now_ms: i64) -> Option<i64> {
    let b = id.as_bytes();
    if b.len() != JOB_ID_LEN {
        return None;
    }
    let value = |c: u8| LETTERS.iter().position(|&l| l == c).map(|v| v as u64);
    let mut ms = 0u64;
    for &c in &b[..8] {
        ms = ms * 52 + value(c)?;
    }
    let check = value(b[8])? * 52 + value(b[9])?;
    if check != stamp_check(ms) {
        return None;
    }
    let ms = i64::try_from(ms).ok()?;
    // a clock a little behind the producer's: up to 2 s in the future reads as no wait
    (ms <= now_ms + 2000 && now_ms - ms <= STAMP_WINDOW_MS).then_some(ms.min(now_ms))
}

/// A fresh random job id: 32 letters from `[A-Za-z]`.
pub fn new_job_id() -> String {
    let pid = std::process::id();
    STATE.with(|cell| {
        let (owner, mut state) = cell.get();
        if owner != pid || state == 0 {
            state = seed();
        }
        let mut out = String::with_capacity(JOB_ID_LEN);
        while out.len() < JOB_ID_LEN {
            let mut word = next(&mut state);
            // ten 6-bit draws per word; values >= 52 are rejected so every letter is equally likely
            for _ in 0..10 {
                let v = (word & 63) as usize;
                word >>= 6;
                if v < LETTERS.len() && out.len() < JOB_ID_LEN {
                    out.push(LETTERS[v] as char);
                }
            }
        }
        cell.set((pid, state));
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_32_letters_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            let id = new_job_id();
            assert_eq!(id.len(), JOB_ID_LEN);
            assert!(id.bytes().all(|b| b.is_ascii_alphabetic()), "{id}");
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn every_letter_appears() {
        let mut counts = [0usize; 52];
        for _ in 0..2_000 {
            for b in new_job_id().bytes() {
                if let Some(i) = LETTERS.iter().position(|&l| l == b) {
                    counts[i] += 1;
                }
            }
        }
        // 64,000 letters: each of 52 expected ~1230 times
        assert!(counts.iter().all(|&c| c > 900 && c < 1600), "{counts:?}");
    }

    #[test]
    fn stamped_ids_read_back_and_stock_ids_do_not() {
        let now = 1_800_000_000_123;
        for ms in [now, now - 1, now - 3_600_000, now + 1500] {
            let id = new_job_id_at(ms);
            assert_eq!(id.len(), JOB_ID_LEN);
            assert!(id.bytes().all(|b| b.is_ascii_alphabetic()), "{id}");
            assert_eq!(available_at(&id, now), Some(ms.min(now)), "{id}");
        }
        assert_ne!(new_job_id_at(now), new_job_id_at(now));
        // too old, in the future, not letters, wrong length
        assert_eq!(available_at(&new_job_id_at(now - STAMP_WINDOW_MS - 1), now), None);
        assert_eq!(available_at(&new_job_id_at(now + 60_000), now), None);
        assert_eq!(available_at("0123456789012345678901234567890A", now), None);
        assert_eq!(available_at("short", now), None);
        // random (stock) ids: the check letters reject almost all of them
        let believed = (0..100_000).filter(|_| available_at(&new_job_id(), now).is_some()).count();
        assert_eq!(believed, 0);
    }

    #[test]
    fn threads_do_not_share_a_sequence() {
        let a = std::thread::spawn(new_job_id).join().unwrap_or_default();
        let b = std::thread::spawn(new_job_id).join().unwrap_or_default();
        assert_ne!(a, b);
    }
}
