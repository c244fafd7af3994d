//! Job ids: 32 ASCII letters, as think-helper's `Str::random(32)` gives them (think-helper >= 3.1.3).
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
    fn threads_do_not_share_a_sequence() {
        let a = std::thread::spawn(new_job_id).join().unwrap_or_default();
        let b = std::thread::spawn(new_job_id).join().unwrap_or_default();
        assert_ne!(a, b);
    }
}
