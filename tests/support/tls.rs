//! TLS material for the scale tests, made with the `openssl` CLI in a temp dir: a private CA, a
//! server certificate for `127.0.0.1`/`localhost` and a client certificate, both signed by it;
//! and a `redis-server` with a TLS port next to its plain one (the plain port is what the
//! harness' readiness probe and the assertions use).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::redis_server::{free_port, RedisServer};

/// PEM files of one generated CA (removed with the value).
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// Generates CA, server and client keys and certificates (RSA 2048, valid 2 days).
    pub fn generate() -> TlsFiles {
        let dir = std::env::temp_dir().join(format!(
            "tqn-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let files = TlsFiles { dir };
        let d = files.dir.to_string_lossy().into_owned();
        files.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=tqn test CA",
            "-keyout",
            &format!("{d}/ca.key"),
            "-out",
            &format!("{d}/ca.crt"),
        ]);
        // X.509 v3 extensions (webpki refuses v1 certificates)
        std::fs::write(
            files.path("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(files.path("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
            .unwrap_or_else(|e| panic!("{e}"));
        for (name, cn) in [("server", "localhost"), ("client", "tqn client")] {
            files.openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{d}/{name}.key"),
                "-out",
                &format!("{d}/{name}.csr"),
            ]);
            let args = vec![
                "x509".to_owned(),
                "-req".into(),
                "-in".into(),
                format!("{d}/{name}.csr"),
                "-CA".into(),
                format!("{d}/ca.crt"),
                "-CAkey".into(),
                format!("{d}/ca.key"),
                "-CAcreateserial".into(),
                "-days".into(),
                "2".into(),
                "-out".into(),
                format!("{d}/{name}.crt"),
                "-extfile".into(),
                format!("{d}/{name}.ext"),
            ];
            files.openssl(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
        files
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running openssl (Debian package openssl): {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A file in the dir: `ca.crt`, `server.crt`, `server.key`, `client.crt`, `client.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// [`path`](Self::path) as a string.
    pub fn file(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `redis-server` with a TLS port (`tls_port`) signed by `files`' CA; `auth_clients`:
/// `"no"`, `"optional"` or `"yes"` (client certificates). `extra` is appended.
pub fn tls_server(files: &TlsFiles, auth_clients: &str, extra: &[&str]) -> (RedisServer, u16) {
    let tls_port = free_port();
    let port = tls_port.to_string();
    let (cert, key, ca) = (files.file("server.crt"), files.file("server.key"), files.file("ca.crt"));
    let mut args = vec![
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        auth_clients,
    ];
    args.extend_from_slice(extra);
    (RedisServer::start_with(&args), tls_port)
}
