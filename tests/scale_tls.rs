//! TLS (the scale suite): a redis-server with a TLS port whose certificate a private CA signed
//! (made with openssl by the test support). The connector trusts exactly the configured CA,
//! presents a client certificate where the server requires one, takes `rediss://` URLs, and so
//! does `tqn`.

mod support;

use std::time::Duration;

use support::redis_server::unique_queue;
use support::tls::{tls_server, TlsFiles};
use think_queue_native::{options_from_config, ConnectionOptions, Dialect, NewJob, QueueOptions, RedisQueue, Value};

fn round_trip(opts: ConnectionOptions) -> think_queue_native::Result<()> {
    let name = unique_queue("tls");
    let mut q = RedisQueue::connect(opts, QueueOptions::new(Dialect::V3))?;
    q.push(&NewJob::new("app\\job\\Tls", Value::Int(7)), Some(&name))?;
    let job = q.pop_blocking(Some(&name), Duration::from_secs(5))?.expect("the job");
    assert_eq!(job.data()?, &Value::Int(7));
    assert!(q.delete_reserved(&job)?);
    Ok(())
}

#[test]
fn tls_with_a_private_ca() {
    let files = TlsFiles::generate();
    let (_server, port) = tls_server(&files, "no", &[]);
    let base = ConnectionOptions {
        port,
        timeout: 5.0,
        read_timeout: 5.0,
        ..Default::default()
    };
    round_trip(ConnectionOptions {
        tls_ca: Some(files.file("ca.crt")),
        ..base.clone()
    })
    .expect("TLS trusting the test CA");
    // the same through a URL, and through a think-queue style config array
    round_trip(
        ConnectionOptions::from_url(&format!(
            "rediss://127.0.0.1:{port}/?tls_ca={}&timeout=5&read_timeout=5",
            files.file("ca.crt")
        ))
        .expect("url"),
    )
    .expect("rediss:// URL");
    let ca = Value::from(files.file("ca.crt"));
    let entries = [
        ("host", Value::from("127.0.0.1")),
        ("port", Value::Int(port.into())),
        ("tls", Value::Bool(true)),
        ("tls_ca", ca),
        ("timeout", Value::Int(5)),
    ];
    let (conn, _) = options_from_config(entries.iter().map(|(k, v)| (*k, v)), Some(Dialect::V3)).expect("config");
    round_trip(conn).expect("config array");

    // the system trust store does not know the test CA
    let err = round_trip(ConnectionOptions { tls: true, ..base.clone() }).expect_err("untrusted");
    assert!(
        err.is_connection() && err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    // plain text to the TLS port
    let err = round_trip(base).expect_err("plain to a TLS port");
    assert!(err.is_connection(), "{err}");
}

#[test]
fn tls_with_a_required_client_certificate() {
    let files = TlsFiles::generate();
    let (_server, port) = tls_server(&files, "yes", &["--requirepass", "s3cret-pw"]);
    let base = ConnectionOptions {
        port,
        password: Some("s3cret-pw".into()),
        tls_ca: Some(files.file("ca.crt")),
        timeout: 5.0,
        read_timeout: 5.0,
        ..Default::default()
    };
    let err = round_trip(base.clone()).expect_err("no client certificate");
    assert!(err.is_connection(), "{err}");
    assert!(!err.to_string().contains("s3cret-pw"));
    round_trip(ConnectionOptions {
        tls_cert: Some(files.file("client.crt")),
        tls_key: Some(files.file("client.key")),
        ..base.clone()
    })
    .expect("with the client certificate");
    // a key without its certificate is a configuration error, a missing file too
    let err = RedisQueue::connect(
        ConnectionOptions {
            tls_key: Some(files.file("client.key")),
            ..base.clone()
        },
        QueueOptions::new(Dialect::V3),
    )
    .err()
    .expect("key without cert");
    assert!(err.is_config(), "{err}");
    let err = RedisQueue::connect(
        ConnectionOptions {
            tls_ca: Some(files.file("missing.crt")),
            ..base
        },
        QueueOptions::new(Dialect::V3),
    )
    .err()
    .expect("missing CA file");
    assert!(err.is_config() && err.to_string().contains("`tls_ca`"), "{err}");
}

#[test]
fn tqn_over_tls() {
    let files = TlsFiles::generate();
    let (_server, port) = tls_server(&files, "no", &[]);
    let name = unique_queue("tqntls");
    let url = format!("rediss://127.0.0.1:{port}/");
    let ca = files.file("ca.crt");
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("tqn")
            .expect("tqn binary")
            .args(["--url", &url, "--tls-ca", &ca])
            .args(args)
            .output()
            .expect("run tqn");
        assert!(out.status.success(), "tqn {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    run(&["--dialect", "v3", "push", &name, "app\\job\\Cli", "--repeat", "2"]);
    let rows: serde_json::Value = serde_json::from_slice(&run(&["--json", "stats", &name])).expect("JSON");
    assert_eq!(rows[0]["ready"], 2, "{rows}");
}
