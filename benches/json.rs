//! Micro-benchmarks of the PHP-exact JSON codec and of payload building, each next to serde_json
//! working on the same data (`cargo bench --bench json`; scripts/bench-json.sh runs it with a
//! time budget and prints a table and JSON lines).
//!
//! Every case is a Criterion group `<kind>-<case>` with two functions, `ours` and `serde_json`,
//! so results land in `target/criterion/<kind>-<case>/{ours,serde_json}/new/`. Each function's
//! throughput is the byte length of the JSON it writes (encode, payload) or reads (decode).
//!
//! The serde_json side sees identical data: its `serde_json::Value`s are converted from ours
//! ([`to_serde`]), and a start-up check decodes our bytes with serde_json and compares. The
//! outputs differ by design: PHP's `json_encode` (and so ours) escapes `/` as `\/` and every
//! non-ASCII character as `\uXXXX`, serde_json writes both as they are; serde_json's default
//! map is a `BTreeMap`, so it also writes object keys sorted. The comparison is throughput
//! on the same input values, not on the same output bytes. The decode cases feed both decoders
//! the same bytes: our (PHP-style) encoding of each value.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use serde::Serialize;
use serde_json::Value as SValue;
use think_queue_native::{build_payload, decode, encode, Dialect, Key, NewJob, Value, JOB_ID_LEN};

/// The job name of the payload cases.
const JOB: &str = "app\\job\\SendSms";

/// Our value as a `serde_json::Value`: lists as arrays, other arrays and objects as objects (int
/// keys as their decimal text). Panics on what JSON cannot hold (invalid UTF-8, INF/NAN).
fn to_serde(v: &Value) -> SValue {
    match v {
        Value::Null => SValue::Null,
        Value::Bool(b) => SValue::Bool(*b),
        Value::Int(i) => SValue::from(*i),
        Value::Float(f) => SValue::Number(serde_json::Number::from_f64(*f).expect("finite float")),
        Value::Str(s) => SValue::String(text(s)),
        Value::Array(entries) if v.is_list() => SValue::Array(entries.iter().map(|(_, c)| to_serde(c)).collect()),
        Value::Array(entries) => SValue::Object(
            entries
                .iter()
                .map(|(k, c)| {
                    let key = match k {
                        Key::Int(i) => i.to_string(),
                        Key::Str(s) => text(s),
                    };
                    (key, to_serde(c))
                })
                .collect(),
        ),
        Value::Object(entries) => SValue::Object(entries.iter().map(|(k, c)| (text(k), to_serde(c))).collect()),
    }
}

/// Whether `a` and `b` hold the same data, floats compared by their distance in ULPs (the largest
/// seen goes to `ulps`): serde_json's default float parser is fast but not always correctly
/// rounded (its `float_roundtrip` feature fixes that, more slowly), so it may read a float of
/// ours one ULP off.
fn same_data(a: &SValue, b: &SValue, ulps: &mut u64) -> bool {
    match (a, b) {
        (SValue::Number(x), SValue::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().expect("f64"), y.as_f64().expect("f64"));
            if x.is_sign_negative() != y.is_sign_negative() {
                return false;
            }
            let distance = x.to_bits().abs_diff(y.to_bits());
            *ulps = (*ulps).max(distance);
            distance <= 2
        }
        (SValue::Array(x), SValue::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_data(x, y, ulps)),
        (SValue::Object(x), SValue::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, x), (ky, y))| kx == ky && same_data(x, y, ulps))
        }
        _ => a == b,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("benchmark strings are UTF-8")
}

/// A deterministic pseudo-random sequence (xorshift64*), so every run benchmarks the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A typical small job: an SMS with a CJK text, an id, an amount and tags.
fn small_job_data() -> Value {
    Value::map(vec![
        ("mobile", Value::from("13800138000")),
        ("content", Value::from("您的验证码是 123456")),
        ("orderId", Value::Int(98765)),
        ("amount", Value::Float(19.99)),
        ("tags", Value::list(vec![Value::from("a"), Value::from("b")])),
    ])
}

/// About 1 KB of JSON (as PHP writes it): a nested order document mixing strings (a few with CJK
/// or `/`), ints, floats, bools, nulls, lists and maps.
fn medium_document() -> Value {
    let item = |sku: &str, title: &str, qty: i64, price: f64, discount: Value, gift: bool| {
        Value::map(vec![
            ("sku", Value::from(sku)),
            ("title", Value::from(title)),
            ("qty", Value::Int(qty)),
            ("price", Value::Float(price)),
            ("discount", discount),
            ("gift", Value::Bool(gift)),
        ])
    };
    let event = |at: i64, status: &str| Value::map(vec![("at", Value::Int(at)), ("status", Value::from(status))]);
    Value::map(vec![
        ("id", Value::Int(1_234_567_890)),
        ("type", Value::from("order.created")),
        ("createdAt", Value::from("2024-05-17T09:30:00+08:00")),
        (
            "customer",
            Value::map(vec![
                ("id", Value::Int(42)),
                ("name", Value::from("张三")),
                ("email", Value::from("zhang.san@example.com")),
                ("vip", Value::Bool(true)),
                ("tags", Value::list(vec![Value::from("new"), Value::from("mobile")])),
                ("referrer", Value::Null),
            ]),
        ),
        (
            "items",
            Value::list(vec![
                item("SKU-1001", "USB-C cable 1m", 2, 12.5, Value::Null, false),
                item("SKU-2002", "Phone case, clear", 1, 29.9, Value::Float(0.15), false),
                item("SKU-3003", "Screen protector (2 pack)", 1, 15.75, Value::Null, true),
                item("SKU-4004", "Wall charger 20W", 1, 89.0 + 0.99, Value::Int(5), false),
            ]),
        ),
        (
            "shipping",
            Value::map(vec![
                ("method", Value::from("express")),
                ("fee", Value::Float(8.5)),
                (
                    "address",
                    Value::map(vec![
                        ("province", Value::from("广东省")),
                        ("city", Value::from("深圳市")),
                        ("street", Value::from("Keji South Rd 18, Bldg A/3F")),
                        ("zip", Value::from("518057")),
                    ]),
                ),
            ]),
        ),
        (
            "payment",
            Value::map(vec![
                ("method", Value::from("alipay")),
                ("paid", Value::Bool(true)),
                ("amount", Value::Float(167.13)),
                ("currency", Value::from("CNY")),
                ("rate", Value::Float(0.138_456_72)),
            ]),
        ),
        (
            "history",
            Value::list(vec![
                event(1_715_909_400, "created"),
                event(1_715_909_460, "paid"),
                event(1_715_913_000, "packed"),
            ]),
        ),
        ("notes", Value::from("Leave at the front desk / call before delivery")),
        ("callback", Value::from("https://shop.example.com/api/orders/1234567890/notify")),
        ("retries", Value::Int(0)),
        ("coupon", Value::Null),
    ])
}

/// 1,000 floats with 15-17 significant digits, over magnitudes from 1e-7 to 1e22 (so both of
/// PHP's layouts, plain and exponential, occur), half of them negative, none printed as an
/// integer (which would decode as an int).
fn float_list() -> Value {
    // Plain layout up to 1e14 (where a random value is never integral after the fix-up below),
    // exponential from 1e17; 1e14..1e17 would print integral values as plain integers.
    let exponents: Vec<i32> = (-7..=13).chain(17..=21).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let items = (0..1000)
        .map(|i| {
            let mut f = (1.0 + 9.0 * rng.unit()) * 10f64.powi(exponents[i % exponents.len()]);
            if f.fract() == 0.0 && f < 1e17 {
                f += 0.5;
            }
            Value::Float(if i % 2 == 0 { f } else { -f })
        })
        .collect();
    Value::list(items)
}

/// 64 strings mixing CJK, emoji, `/`, quotes, backslashes, control characters and plain ASCII.
fn string_list() -> Value {
    const PIECES: [&str; 12] = [
        "您的订单已发货，请注意查收。",
        "😀🎉👍",
        "https://example.com/a/b/c?x=1&y=2",
        "He said \"hi\"",
        "C:\\path\\to\\file",
        "line one\nline two\r\n",
        "tab\tseparated\tvalues",
        "\u{1}\u{1f}\u{7f} controls",
        "plain ASCII words with nothing to escape at all, ",
        "Ünïcödé façade – naïve café",
        "東京都渋谷区 ",
        "한국어 텍스트",
    ];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let items = (0..64)
        .map(|_| {
            let s: String = (0..4).map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize]).collect();
            Value::from(s)
        })
        .collect();
    Value::list(items)
}

/// `think-queue` 1.x/2.x payload as serde would write it: the fields of [`build_payload`] for V1.
#[derive(Serialize)]
struct PayloadV1<'a> {
    job: &'a str,
    data: &'a SValue,
    id: &'a str,
    attempts: i64,
}

/// `think-queue` 3.x payload fields, in the order [`build_payload`] writes them for V3.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayloadV3<'a> {
    job: &'a str,
    max_tries: Option<i64>,
    timeout: Option<i64>,
    data: &'a SValue,
    id: &'a str,
    attempts: i64,
}

/// Benchmarks `ours` and `serde` in one group, each with its own byte count as throughput.
fn pair(c: &mut Criterion, group: &str, ours: (u64, &mut dyn FnMut()), serde: (u64, &mut dyn FnMut())) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(ours.0));
    g.bench_function("ours", |b| b.iter(&mut *ours.1));
    g.throughput(Throughput::Bytes(serde.0));
    g.bench_function("serde_json", |b| b.iter(&mut *serde.1));
    g.finish();
}

fn len(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).expect("length fits u64")
}

fn cases() -> Vec<(&'static str, Value)> {
    vec![
        ("small", small_job_data()),
        ("medium", medium_document()),
        ("floats", float_list()),
        ("strings", string_list()),
    ]
}

fn codec(c: &mut Criterion) {
    for (name, value) in cases() {
        let sv = to_serde(&value);
        let php = encode(&value).expect("encodes");
        let serde_out = serde_json::to_vec(&sv).expect("serde encodes");
        // Same data on both sides: serde_json reads our bytes back as the converted value.
        let mut ulps = 0;
        let read_back = serde_json::from_slice::<SValue>(&php).expect("valid JSON");
        assert!(
            same_data(&read_back, &sv, &mut ulps),
            "{name}: serde_json reads other data from our bytes"
        );
        assert!(decode(&php).expect("decodes") == value, "{name}: our decoder does not round-trip");
        eprintln!(
            "{name}: {} bytes as PHP writes it, {} as serde_json does; serde_json reads our floats back within {ulps} ULP",
            php.len(),
            serde_out.len()
        );
        pair(
            c,
            &format!("encode-{name}"),
            (len(&php), &mut || {
                black_box(encode(black_box(&value)).expect("encodes"));
            }),
            (len(&serde_out), &mut || {
                black_box(serde_json::to_vec(black_box(&sv)).expect("encodes"));
            }),
        );
        pair(
            c,
            &format!("decode-{name}"),
            (len(&php), &mut || {
                black_box(decode(black_box(&php)).expect("decodes"));
            }),
            (len(&php), &mut || {
                black_box(serde_json::from_slice::<SValue>(black_box(&php)).expect("decodes"));
            }),
        );
    }
}

fn payload(c: &mut Criterion) {
    let data = small_job_data();
    let sv = to_serde(&data);
    let job = NewJob::new(JOB, data);
    let id = "0123456789abcdefghijklmnopqrstuv";
    assert_eq!(id.len(), JOB_ID_LEN);
    for (name, dialect) in [("v1", Dialect::V1), ("v3", Dialect::V3)] {
        let attempts = dialect.initial_attempts();
        let serde_payload = || match dialect {
            Dialect::V1 => serde_json::to_vec(&PayloadV1 {
                job: JOB,
                data: &sv,
                id,
                attempts,
            }),
            _ => serde_json::to_vec(&PayloadV3 {
                job: JOB,
                max_tries: None,
                timeout: None,
                data: &sv,
                id,
                attempts,
            }),
        };
        let ours_out = build_payload(dialect, &job, id).expect("builds");
        let serde_out = serde_payload().expect("serde encodes");
        assert_eq!(
            serde_json::from_slice::<SValue>(&ours_out).expect("valid JSON"),
            serde_json::from_slice::<SValue>(&serde_out).expect("valid JSON"),
            "{name}"
        );
        pair(
            c,
            &format!("payload-{name}"),
            (len(&ours_out), &mut || {
                black_box(build_payload(dialect, black_box(&job), black_box(id)).expect("builds"));
            }),
            (len(&serde_out), &mut || {
                black_box(serde_payload().expect("encodes"));
            }),
        );
    }
}

/// Short, fixed measurement windows: 20 benchmarks fit in about a minute on a loaded 2-core
/// machine. Command-line options (`--measurement-time`, `--warm-up-time`, ...) still override.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1600))
        .sample_size(40)
        .nresamples(20_000)
        .without_plots()
}

fn main() {
    eprintln!(
        "json bench: ours = PHP-exact json_encode/json_decode(assoc) and think-queue payloads; serde_json on the same values.\n\
         Outputs differ by design: PHP escapes '/' as '\\/' and non-ASCII as \\uXXXX, serde_json writes them raw (and sorts map keys);\n\
         the decode cases feed both decoders the same (PHP-style) bytes."
    );
    let mut c = config().configure_from_args();
    codec(&mut c);
    payload(&mut c);
    c.final_summary();
}
