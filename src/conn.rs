//! One Redis connection with think-queue's connect sequence (connect, AUTH, SELECT), error
//! translation, one reconnect on a dropped connection, and fork safety.

use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::config::ConnectionOptions;
use crate::error::{Error, Result};

/// A lazily (re)connected Redis connection owned by one queue object.
pub(crate) struct Conn {
    opts: ConnectionOptions,
    con: Option<redis::Connection>,
    /// process that opened `con`: a forked child must not use its parent's socket
    pid: u32,
}

impl Conn {
    pub(crate) fn new(opts: ConnectionOptions) -> Result<Conn> {
        opts.validate()?;
        Ok(Conn {
            opts,
            con: None,
            pid: std::process::id(),
        })
    }

    pub(crate) fn options(&self) -> &ConnectionOptions {
        &self.opts
    }

    /// Opens the connection now (think-queue connects in the constructor), so a dead Redis or
    /// a wrong password is reported at once.
    pub(crate) fn connect(&mut self) -> Result<()> {
        self.ensure().map(|_| ())
    }

    /// Forgets the connection; the next command opens a new one.
    pub(crate) fn disconnect(&mut self) {
        self.con = None;
    }

    fn ensure(&mut self) -> Result<&mut redis::Connection> {
        let pid = std::process::id();
        if self.pid != pid {
            // Forked: the socket is shared with the parent. Drop our copy of the descriptor
            // without sending anything on it (dropping only closes this process's fd).
            self.con = None;
            self.pid = pid;
        }
        if self.con.is_none() {
            self.con = Some(self.open()?);
        }
        match self.con.as_mut() {
            Some(c) => Ok(c),
            None => Err(Error::Connection {
                addr: self.opts.addr(),
                detail: "not connected".into(),
            }),
        }
    }

    fn open(&self) -> Result<redis::Connection> {
        let info = self.opts.connection_info()?;
        let client = redis::Client::open(info).map_err(|e| self.translate(e, ""))?;
        let con = match self.opts.connect_timeout() {
            Some(t) => client.get_connection_with_timeout(t),
            None => client.get_connection(),
        }
        .map_err(|e| self.translate(e, ""))?;
        con.set_read_timeout(self.opts.read_timeout_duration())
            .map_err(|e| self.translate(e, ""))?;
        con.set_write_timeout(self.opts.read_timeout_duration())
            .map_err(|e| self.translate(e, ""))?;
        Ok(con)
    }

    /// Runs `op` on the connection. When the connection turns out to be broken (Redis restarted,
    /// idle connection closed), reconnects once and runs `op` again; a second failure is
    /// reported. `key` names what the command was about, for error messages.
    ///
    /// A retried write may have been applied before the connection broke: operations are then
    /// at-least-once (a push may land twice, a pop leaves a reservation that expires), never lost.
    pub(crate) fn run<T>(&mut self, key: &str, mut op: impl FnMut(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T> {
        let mut retried = false;
        loop {
            let con = self.ensure()?;
            match op(con) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let broken = is_broken(&e);
                    if broken {
                        self.con = None;
                    }
                    if broken && !retried && !e.is_timeout() {
                        retried = true;
                        continue;
                    }
                    return Err(self.translate(e, key));
                }
            }
        }
    }

    fn translate(&self, e: RedisError, key: &str) -> Error {
        let addr = self.opts.addr();
        let detail = describe(&e, &self.opts);
        match e.kind() {
            ErrorKind::AuthenticationFailed => Error::Auth { addr, detail },
            ErrorKind::Server(ServerErrorKind::ResponseError) | ErrorKind::Extension
                if matches!(e.code(), Some("NOAUTH") | Some("WRONGPASS")) || detail.contains("NOAUTH") || detail.contains("WRONGPASS") =>
            {
                Error::Auth { addr, detail }
            }
            ErrorKind::InvalidClientConfig => Error::Config(detail),
            _ if is_broken(&e) || e.is_timeout() => Error::Connection { addr, detail },
            _ => Error::Redis {
                key: key.to_owned(),
                detail,
            },
        }
    }
}

fn is_broken(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_unrecoverable_error()
}

/// A readable message without the password.
fn describe(e: &RedisError, opts: &ConnectionOptions) -> String {
    let mut s = if e.is_timeout() {
        match opts.read_timeout_duration() {
            Some(t) => format!("timed out (read_timeout {:.3}s): {e}", t.as_secs_f64()),
            None => format!("timed out: {e}"),
        }
    } else {
        e.to_string()
    };
    // "Resource temporarily unavailable (os error 11)" is what a read timeout looks like on Linux
    if s.contains("os error 11") {
        s = format!("read timed out ({})", s);
    }
    if let Some(p) = opts.password.as_deref().filter(|p| p.len() >= 3) {
        s = s.replace(p, "<redacted>");
    }
    s
}
