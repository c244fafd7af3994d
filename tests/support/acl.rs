//! The README's ready-made ACL rule for the queue user, and a helper that creates that user.

use super::redis_server::client;

/// The README's rule, with its placeholder password (`tests/scale_acl.rs` checks the README
/// carries exactly this line).
pub const RULE: &str = "ACL SETUSER queue reset on >CHANGE-ME ~queues:* ~{queues:* \
                        +ping +select +rpush +zadd +zrem +llen +zcard +evalsha +script|load \
                        +lpop +zrange +zrangebyscore +zscore +blmove +brpoplpush +wait +cluster|slots +asking \
                        +hincrby +expire +hset +hdel +del +zremrangebyscore";

/// Creates the user `queue` with [`RULE`] and `password` on the server at `port`.
pub fn setuser(port: u16, password: &str) {
    let mut admin = client(port);
    let rule = RULE.replace(">CHANGE-ME", &format!(">{password}"));
    let mut cmd = redis::cmd("ACL");
    for word in rule.split_whitespace().skip(1) {
        cmd.arg(word);
    }
    let _: () = cmd.query(&mut admin).unwrap_or_else(|e| panic!("{rule} on {port}: {e}"));
}
