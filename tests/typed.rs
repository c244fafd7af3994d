//! Typed producers (`serde::Serialize` data) write the bytes PHP's think-queue writes for the
//! equivalent PHP value, in both generations; refused data writes nothing.

mod support;

use std::collections::BTreeMap;

use serde::Serialize;
use support::redis_server::unique_queue;
use think_queue_native::{unix_now, Delay, Dialect, EncodeError, Error};

#[derive(Serialize)]
struct SendSms {
    mobile: String,
    text: String,
    codes: Vec<u32>,
    price: f64,
    retry: Option<u8>,
    meta: BTreeMap<String, String>,
    kind: Kind,
}

#[derive(Serialize)]
enum Kind {
    Verify { len: u8 },
}

fn sms() -> SendSms {
    SendSms {
        mobile: "13800000000".into(),
        text: "验证码 / code".into(),
        codes: vec![1, 2],
        price: 0.5,
        retry: None,
        meta: BTreeMap::new(),
        kind: Kind::Verify { len: 6 },
    }
}

// PHP: ['mobile'=>'13800000000','text'=>'验证码 / code','codes'=>[1,2],'price'=>0.5,'retry'=>null,'meta'=>[],'kind'=>['Verify'=>['len'=>6]]]
const DATA: &str = r#"{"mobile":"13800000000","text":"\u9a8c\u8bc1\u7801 \/ code","codes":[1,2],"price":0.5,"retry":null,"meta":[],"kind":{"Verify":{"len":6}}}"#;

use support::ctx::ctx as queue;

#[test]
fn push_serialize_writes_php_bytes_in_both_generations() {
    for (dialect, expected) in [
        (
            Dialect::V1,
            format!(r#"{{"job":"app\\job\\SendSms","data":{DATA},"id":"ID","attempts":1}}"#),
        ),
        (
            Dialect::V3,
            format!(r#"{{"job":"app\\job\\SendSms","maxTries":null,"timeout":null,"data":{DATA},"id":"ID","attempts":0}}"#),
        ),
    ] {
        let (mut q, mut r) = queue(dialect);
        let name = unique_queue("typed");
        let id = q.push_serialize("app\\job\\SendSms", &sms(), Some(&name)).expect("push");
        let raw: Vec<u8> = redis::cmd("LINDEX")
            .arg(dialect.keys(&name).ready)
            .arg(0)
            .query(&mut r)
            .expect("lindex");
        assert_eq!(
            String::from_utf8_lossy(&raw),
            expected.replace("\"ID\"", &format!("\"{id}\"")),
            "{dialect}"
        );
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        assert_eq!(job.data().expect("data").get("price"), Some(&think_queue_native::Value::Float(0.5)));
        q.delete_reserved(&job).expect("delete");
    }
}

#[test]
fn later_and_bulk_serialize() {
    let (mut q, mut r) = queue(Dialect::V3);
    let name = unique_queue("typedlater");
    let before = unix_now();
    let id = q
        .later_serialize(Delay::Seconds(90), "app\\job\\Remind", &("a", 1, true), Some(&name))
        .expect("later");
    let delayed: Vec<(String, i64)> = redis::cmd("ZRANGE")
        .arg(Dialect::V3.keys(&name).delayed)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut r)
        .expect("zrange");
    assert_eq!(delayed.len(), 1);
    assert!(
        delayed[0].0.contains(&format!(r#""data":["a",1,true],"id":"{id}""#)),
        "{}",
        delayed[0].0
    );
    assert!((before + 90..=unix_now() + 90).contains(&delayed[0].1));

    let ids = q.bulk_serialize("app\\job\\N", &[Some(1), None], Some(&name)).expect("bulk");
    let ready: Vec<String> = redis::cmd("LRANGE")
        .arg(Dialect::V3.keys(&name).ready)
        .arg(0)
        .arg(-1)
        .query(&mut r)
        .expect("lrange");
    assert_eq!(ready.len(), 2);
    assert!(ready[0].contains(&format!(r#""data":1,"id":"{}""#, ids[0])));
    assert!(ready[1].contains(&format!(r#""data":null,"id":"{}""#, ids[1])));
    let _: i64 = redis::cmd("DEL")
        .arg(Dialect::V3.keys(&name).ready)
        .arg(Dialect::V3.keys(&name).delayed)
        .query(&mut r)
        .expect("del");
}

#[test]
fn refused_data_writes_nothing() {
    let (mut q, mut r) = queue(Dialect::V1);
    let name = unique_queue("typedbad");
    let err = q.push_serialize("J", &vec![1.0, f64::NAN], Some(&name)).expect_err("nan");
    assert!(matches!(err, Error::Payload(EncodeError::InfOrNan)), "{err:?}");
    assert_eq!(err.to_string(), "Unable to create payload: Inf and NaN cannot be JSON encoded");
    // one bad item fails the whole bulk
    let err = q.bulk_serialize("J", &[0.5, f64::INFINITY], Some(&name)).expect_err("inf");
    assert!(err.is_payload());
    // a map key PHP cannot have
    let bad: BTreeMap<Vec<u8>, i32> = [(vec![1u8], 1)].into_iter().collect();
    let err = q.push_serialize("J", &bad, Some(&name)).expect_err("key");
    assert!(matches!(err, Error::Serialize(_)) && err.is_payload(), "{err:?}");
    let exists: i64 = redis::cmd("EXISTS")
        .arg(Dialect::V1.keys(&name).ready)
        .query(&mut r)
        .expect("exists");
    assert_eq!(exists, 0);
}
