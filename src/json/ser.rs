//! A `serde` serializer into [`Value`]: any `Serialize` type as the PHP value a PHP producer would
//! hand to think-queue, so the payload bytes are what PHP's `json_encode` writes for that value.
//!
//! | Rust (serde data model) | PHP value | JSON written |
//! |---|---|---|
//! | struct, map | associative array (string keys; numeric-string keys become int keys, as in PHP) | `{"a":1}`; `[]` when empty; a list when the keys are `0..n-1` |
//! | `Vec`, slice, tuple, tuple struct, set | list | `[1,2]` |
//! | `None`, `()`, unit struct | `null` | `null` |
//! | `Some(v)`, newtype struct | `v` | |
//! | `bool`, integers | bool, int (`u64`/`i128` beyond `i64` become floats, as PHP turns them) | `true`, `42`, `1.8446744073709552e+19` |
//! | `f64` | float (`NaN`/`INF` refused with [`EncodeError::InfOrNan`]) | `0.1`, `2` (PHP writes `2.0` as `2`) |
//! | `f32` | the float its shortest decimal text names (`0.1f32` is PHP `0.1`) | `0.1` |
//! | `char`, `&str`, `String` | string | `"\u4e2d"` |
//! | `&[u8]` as bytes (`serde_bytes`) | list of ints, like `serde_json` | `[104,105]` |
//! | unit variant `E::A` | string `"A"` | `"A"` |
//! | newtype / tuple / struct variant | `["A" => v]` (serde's externally tagged form) | `{"A":...}` |
//!
//! Map keys: strings go through PHP's numeric-string rule ([`Key::from`]: `"7"` is the int key 7,
//! `"07"` stays a string); integers become int keys (beyond `i64`: their decimal text); `bool`
//! keys are PHP's `1`/`0`; `char` and unit variants are string keys. Other keys (floats, `None`,
//! sequences, maps) are refused. A key set twice keeps its first position with the last value,
//! as a PHP array assignment does.
#![forbid(unsafe_code)]

use std::fmt;

use serde::ser::{self, Serialize};

use super::encode::{EncodeError, MAX_ENCODE_DEPTH};
use super::value::{ArrayBuilder, Key, Value};

/// Why [`to_value`] refused a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SerializeError {
    /// What `json_encode` would refuse: `NaN`/`INF` ([`EncodeError::InfOrNan`]), nesting deeper
    /// than PHP encodes ([`EncodeError::Depth`]).
    Encode(EncodeError),
    /// The type's `Serialize` implementation failed, or a map key has no PHP array-key form.
    Custom(String),
}

impl fmt::Display for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SerializeError::Encode(e) => e.fmt(f),
            SerializeError::Custom(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SerializeError {}

impl ser::Error for SerializeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerializeError::Custom(msg.to_string())
    }
}

impl From<EncodeError> for SerializeError {
    fn from(e: EncodeError) -> Self {
        SerializeError::Encode(e)
    }
}

type Result<T> = std::result::Result<T, SerializeError>;

/// The PHP value of `v` (see the module table), ready for [`encode`](fn@super::encode) or a job payload.
///
/// ```
/// use serde::Serialize;
/// use think_queue_native::{encode, to_value};
///
/// #[derive(Serialize)]
/// struct Sms<'a> { mobile: &'a str, tags: Vec<&'a str>, retry: Option<u8>, price: f64 }
///
/// let v = to_value(&Sms { mobile: "13800000000", tags: vec![], retry: None, price: 2.0 }).unwrap();
/// // byte for byte what PHP writes for ['mobile' => '13800000000', 'tags' => [], 'retry' => null, 'price' => 2.0]
/// assert_eq!(encode(&v).unwrap(), br#"{"mobile":"13800000000","tags":[],"retry":null,"price":2}"#);
/// ```
///
/// # Errors
///
/// [`SerializeError::Encode`] with [`EncodeError::InfOrNan`] for `NaN`/`INF` floats, or
/// [`EncodeError::Depth`] beyond PHP's nesting limit; [`SerializeError::Custom`] when the type's
/// `Serialize` fails or a map key cannot be a PHP array key.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value> {
    v.serialize(ValueSerializer { depth: 0, key: false })
}

/// Serializes into [`Value`]. `depth` is the array nesting of the value being built; `key` says
/// that the value is a map key, which must come out as a string, an int or a bool ([`to_key`]).
#[derive(Clone, Copy)]
struct ValueSerializer {
    depth: usize,
    key: bool,
}

impl ValueSerializer {
    /// The serializer of the items of an array opened at this level.
    fn nested(self) -> Result<ValueSerializer> {
        if self.key {
            return Err(bad_key("an array"));
        }
        if self.depth >= MAX_ENCODE_DEPTH {
            return Err(EncodeError::Depth.into());
        }
        Ok(ValueSerializer {
            depth: self.depth + 1,
            key: false,
        })
    }

    /// An integer type wider than PHP's int: beyond `i64` a value is a float, as PHP turns it
    /// (and `json_decode` reads it); as a map key, its decimal text (what `json_decode` keeps).
    fn wide<T: TryInto<i64> + ToString + Copy>(self, v: T, as_float: f64) -> Result<Value> {
        Ok(match v.try_into() {
            Ok(i) => Value::Int(i),
            Err(_) if self.key => Value::from(v.to_string()),
            Err(_) => Value::Float(as_float),
        })
    }

    fn float(self, f: f64) -> Result<Value> {
        if self.key {
            Err(bad_key("a float"))
        } else if f.is_finite() {
            Ok(Value::Float(f))
        } else {
            Err(EncodeError::InfOrNan.into())
        }
    }
}

fn bad_key(kind: &str) -> SerializeError {
    SerializeError::Custom(format!(
        "a map key must be a string or an integer to be a PHP array key, got {kind}"
    ))
}

/// The PHP array key of a map key serialized in key mode: strings go through PHP's
/// numeric-string rule, bools are `1`/`0`.
fn to_key(v: Value) -> Result<Key> {
    match v {
        Value::Int(i) => Ok(Key::Int(i)),
        Value::Bool(b) => Ok(Key::Int(b.into())),
        Value::Str(s) => Ok(Key::from_vec(s)),
        // only null gets here: floats and arrays are refused while serializing in key mode
        _ => Err(bad_key("null")),
    }
}

/// Integer types that are PHP ints.
macro_rules! ints {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<Value> {
            Ok(Value::Int(v.into()))
        }
    )*};
}

/// Integer types that can be wider than PHP's int (see [`ValueSerializer::wide`]).
macro_rules! wide_ints {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<Value> {
            self.wide(v, v as f64)
        }
    )*};
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = SerializeError;
    type SerializeSeq = Builder;
    type SerializeTuple = Builder;
    type SerializeTupleStruct = Builder;
    type SerializeTupleVariant = Builder;
    type SerializeMap = Builder;
    type SerializeStruct = Builder;
    type SerializeStructVariant = Builder;

    fn serialize_bool(self, v: bool) -> Result<Value> {
        Ok(Value::Bool(v))
    }

    ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64);
    ints!(serialize_u8: u8, serialize_u16: u16, serialize_u32: u32);
    wide_ints!(serialize_i128: i128, serialize_u64: u64, serialize_u128: u128);

    fn serialize_f32(self, v: f32) -> Result<Value> {
        // the double the f32's shortest text names (0.1f32 -> 0.1, not 0.10000000149011612),
        // which is also what serde_json writes for it
        self.float(v.to_string().parse().unwrap_or(f64::from(v)))
    }

    fn serialize_f64(self, v: f64) -> Result<Value> {
        self.float(v)
    }

    fn serialize_char(self, v: char) -> Result<Value> {
        Ok(Value::from(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value> {
        Ok(Value::from(v))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value> {
        self.nested()?;
        Ok(Value::list(v.iter().map(|&b| Value::Int(b.into())).collect()))
    }

    fn serialize_none(self) -> Result<Value> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Value> {
        Ok(Value::from(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<Value> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value> {
        // serde's externally tagged form: [variant => value]
        Ok(Value::Array(vec![(Key::from(variant), value.serialize(self.nested()?)?)]))
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Builder> {
        Ok(Builder {
            array: ArrayBuilder::default(),
            inner: self.nested()?,
            pending_key: None,
            variant: None,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Builder> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Builder> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, variant: &'static str, len: usize) -> Result<Builder> {
        // the tag array is one level, the list inside it another
        let mut seq = self.nested()?.serialize_seq(Some(len))?;
        seq.variant = Some(variant);
        Ok(seq)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Builder> {
        self.serialize_seq(len)
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Builder> {
        self.serialize_seq(Some(len))
    }

    fn serialize_struct_variant(self, name: &'static str, index: u32, variant: &'static str, len: usize) -> Result<Builder> {
        self.serialize_tuple_variant(name, index, variant, len)
    }
}

/// A PHP array being built: a list (sequences, tuples) or an associative array (maps,
/// structs); for enum variants, inside `[variant => array]`.
struct Builder {
    array: ArrayBuilder,
    inner: ValueSerializer,
    pending_key: Option<Key>,
    variant: Option<&'static str>,
}

/// The four list-building traits, which differ only in their names.
macro_rules! seq_builder {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Builder {
            type Ok = Value;
            type Error = SerializeError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
                self.array.push(value.serialize(self.inner)?);
                Ok(())
            }

            fn end(self) -> Result<Value> {
                Ok(self.finish())
            }
        }
    )*};
}

seq_builder!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The two struct-building traits: fields are string keys.
macro_rules! struct_builder {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Builder {
            type Ok = Value;
            type Error = SerializeError;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
                self.array.insert(Key::from(key), value.serialize(self.inner)?);
                Ok(())
            }

            fn end(self) -> Result<Value> {
                Ok(self.finish())
            }
        }
    )*};
}

struct_builder!(SerializeStruct, SerializeStructVariant);

impl Builder {
    fn finish(self) -> Value {
        let array = self.array.into_value();
        match self.variant {
            Some(variant) => Value::Array(vec![(Key::from(variant), array)]),
            None => array,
        }
    }
}

impl ser::SerializeMap for Builder {
    type Ok = Value;
    type Error = SerializeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        let key = key.serialize(ValueSerializer { key: true, ..self.inner })?;
        self.pending_key = Some(to_key(key)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| SerializeError::Custom("a map value was serialized before its key".into()))?;
        self.array.insert(key, value.serialize(self.inner)?);
        Ok(())
    }

    fn end(self) -> Result<Value> {
        Ok(self.finish())
    }
}

impl Serialize for Value {
    /// Serializes a PHP value the way `json_encode` shapes it: lists as sequences, other arrays
    /// and objects as maps (int keys as integers, which serde_json writes as their decimal
    /// text), so `serde_json::to_string(&value)` has the same structure as the output of
    /// [`encode`](fn@super::encode), which is this serialization with PHP's escaping and float
    /// text. Invalid UTF-8 in a string or key is an error; INF/NAN are left to the serializer.
    fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use ser::{SerializeMap as _, SerializeSeq as _};
        fn text<E: ser::Error>(b: &[u8]) -> std::result::Result<&str, E> {
            std::str::from_utf8(b).map_err(|_| E::custom(EncodeError::MalformedUtf8))
        }
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(b) => s.serialize_str(text(b)?),
            Value::Array(entries) if self.is_list() => {
                let mut seq = s.serialize_seq(Some(entries.len()))?;
                for (_, v) in entries {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Array(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    match k {
                        Key::Int(i) => map.serialize_entry(i, v)?,
                        Key::Str(b) => map.serialize_entry(text(b)?, v)?,
                    }
                }
                map.end()
            }
            Value::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                // PHP's mangled (non-public) property names are not encoded
                for (k, v) in entries.iter().filter(|(k, _)| k.first() != Some(&0)) {
                    map.serialize_entry(text(k)?, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The expected bytes were produced by PHP 8.2's `json_encode` on the PHP value named in
    //! each comment (checked by hand with `php -r`); the tests themselves need no PHP.
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;

    use super::*;
    use crate::json::encode;

    fn json<T: Serialize + ?Sized>(v: &T) -> String {
        let value = to_value(v).unwrap_or_else(|e| panic!("to_value: {e}"));
        String::from_utf8(encode(&value).unwrap_or_else(|e| panic!("encode: {e}"))).unwrap_or_default()
    }

    #[derive(Serialize)]
    struct Sms {
        mobile: String,
        text: String,
        n: i64,
        urgent: bool,
        price: f64,
        tags: Vec<String>,
        retry: Option<u32>,
        meta: BTreeMap<String, i32>,
    }

    #[test]
    fn structs_are_assoc_arrays() {
        let sms = Sms {
            mobile: "13800000000".into(),
            text: "您的验证码 1/2 \"ok\"".into(),
            n: -7,
            urgent: true,
            price: 2.0,
            tags: vec![],
            retry: None,
            meta: BTreeMap::new(),
        };
        // ['mobile'=>'13800000000','text'=>'您的验证码 1/2 "ok"','n'=>-7,'urgent'=>true,'price'=>2.0,'tags'=>[],'retry'=>null,'meta'=>[]]
        assert_eq!(
            json(&sms),
            r#"{"mobile":"13800000000","text":"\u60a8\u7684\u9a8c\u8bc1\u7801 1\/2 \"ok\"","n":-7,"urgent":true,"price":2,"tags":[],"retry":null,"meta":[]}"#
        );
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct Unit;
        // [] (an empty PHP array), null
        assert_eq!(json(&Empty {}), "[]");
        assert_eq!(json(&Unit), "null");
        assert_eq!(json(&()), "null");
    }

    #[test]
    fn numeric_keys_behave_as_in_php() {
        // ['0'=>'a','1'=>'b'] is the list ['a','b']
        let m: BTreeMap<&str, &str> = [("0", "a"), ("1", "b")].into_iter().collect();
        assert_eq!(json(&m), r#"["a","b"]"#);
        // [1=>'a',2=>'b'], ['07'=>1,'-0'=>2,'x'=>3]
        let m: BTreeMap<u8, &str> = [(1, "a"), (2, "b")].into_iter().collect();
        assert_eq!(json(&m), r#"{"1":"a","2":"b"}"#);
        let m: Vec<(&str, i32)> = vec![("07", 1), ("-0", 2), ("x", 3)];
        let v = to_value(&m.iter().cloned().collect::<indexmap_like::Ordered>()).unwrap_or(Value::Null);
        assert_eq!(
            String::from_utf8(encode(&v).unwrap_or_default()).unwrap_or_default(),
            r#"{"07":1,"-0":2,"x":3}"#
        );
        // [-1=>'n', 0=>'z'] (not a list), [true=>'t', false=>'f'] is [1=>'t', 0=>'f']
        let m: BTreeMap<i64, &str> = [(-1, "n"), (0, "z")].into_iter().collect();
        assert_eq!(json(&m), r#"{"-1":"n","0":"z"}"#);
        let m: BTreeMap<bool, &str> = [(true, "t"), (false, "f")].into_iter().collect();
        // BTreeMap orders false first: [0=>'f', 1=>'t'] is a list
        assert_eq!(json(&m), r#"["f","t"]"#);
        // u64 beyond i64 as a key: PHP's json_decode of {"18446744073709551615":1} keeps the string
        let m: BTreeMap<u64, i32> = [(u64::MAX, 1)].into_iter().collect();
        assert_eq!(
            to_value(&m).unwrap_or(Value::Null),
            Value::Array(vec![(Key::Str(b"18446744073709551615".to_vec()), Value::Int(1))])
        );
        // a HashMap with one key
        let h: HashMap<String, Vec<u8>> = [("k".to_string(), vec![1, 2])].into_iter().collect();
        assert_eq!(json(&h), r#"{"k":[1,2]}"#);
    }

    /// A map that keeps insertion order and allows repeated keys (like `serde(flatten)` output).
    mod indexmap_like {
        use serde::ser::{Serialize, SerializeMap, Serializer};

        pub struct Ordered(pub Vec<(&'static str, i32)>);

        impl FromIterator<(&'static str, i32)> for Ordered {
            fn from_iter<I: IntoIterator<Item = (&'static str, i32)>>(it: I) -> Self {
                Ordered(it.into_iter().collect())
            }
        }

        impl Serialize for Ordered {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in &self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }

    #[test]
    fn repeated_keys_keep_the_first_position_and_the_last_value() {
        // $a = []; $a['a'] = 1; $a['b'] = 2; $a['a'] = 3; $a['1'] = 4; $a[1] = 5;
        let o: indexmap_like::Ordered = vec![("a", 1), ("b", 2), ("a", 3), ("1", 4)].into_iter().collect();
        assert_eq!(json(&o), r#"{"a":3,"b":2,"1":4}"#);
        // the same with enough keys for the index
        let names: Vec<&'static str> = vec![
            "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k3", "k17",
        ];
        let o: indexmap_like::Ordered = names.iter().enumerate().map(|(i, k)| (*k, i as i32)).collect();
        let expected = (0..18)
            .map(|i| {
                let v = match i {
                    3 => 18,
                    17 => 19,
                    _ => i,
                };
                format!("\"k{i}\":{v}")
            })
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(json(&o), format!("{{{expected}}}"));
    }

    #[test]
    fn sequences_tuples_options_bytes() {
        #[derive(Serialize)]
        struct Pair(i32, &'static str);
        #[derive(Serialize)]
        struct Wrapper(Vec<Option<bool>>);
        // [1, 'a'], [[true, null]], [1, [2, 3]], [104, 105]
        assert_eq!(json(&Pair(1, "a")), r#"[1,"a"]"#);
        assert_eq!(json(&Wrapper(vec![Some(true), None])), "[true,null]");
        assert_eq!(json(&(1u8, [2i16, 3])), "[1,[2,3]]");
        struct Bytes(&'static [u8]);
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        assert_eq!(json(&Bytes(b"hi")), "[104,105]");
        assert_eq!(json(&Bytes(b"")), "[]");
        assert_eq!(json(&Some("x")), r#""x""#);
        assert_eq!(json(&None::<i32>), "null");
        assert_eq!(json(&'中'), r#""\u4e2d""#);
        assert_eq!(json(&"😀/\u{1}"), r#""\ud83d\ude00\/\u0001""#);
        let set: std::collections::BTreeSet<i32> = [3, 1].into_iter().collect();
        assert_eq!(json(&set), "[1,3]");
    }

    #[test]
    fn enums_are_externally_tagged() {
        #[derive(Serialize)]
        #[allow(dead_code)]
        enum Kind {
            Plain,
            Code(u32),
            Pair(i32, i32),
            Full {
                to: &'static str,
                cc: Vec<&'static str>,
            },
            #[serde(rename = "0")]
            Zero(bool),
        }
        // 'Plain', ['Code'=>1234], ['Pair'=>[1,2]], ['Full'=>['to'=>'a@b.c','cc'=>[]]], [0 => true] is [true]
        assert_eq!(json(&Kind::Plain), r#""Plain""#);
        assert_eq!(json(&Kind::Code(1234)), r#"{"Code":1234}"#);
        assert_eq!(json(&Kind::Pair(1, 2)), r#"{"Pair":[1,2]}"#);
        assert_eq!(json(&Kind::Full { to: "a@b.c", cc: vec![] }), r#"{"Full":{"to":"a@b.c","cc":[]}}"#);
        assert_eq!(json(&Kind::Zero(true)), "[true]");
        #[derive(Serialize)]
        #[serde(tag = "type")]
        enum Internal {
            Ping { n: i32 },
        }
        assert_eq!(json(&Internal::Ping { n: 1 }), r#"{"type":"Ping","n":1}"#);
    }

    #[test]
    fn numbers_as_php_writes_them() {
        // [0.1, 2.0, 1e20, 3.0e-5, -0.0, 100.0, 1.5, 1e16, 0.0001, 18446744073709551615, 1.7976931348623157e308, 5e-324, 123456789.123]
        let floats = (0.1f64, 2.0f64, 1e20f64, 3.0e-5f64, -0.0f64, 100.0f64, 1.5f64, 1e16f64, 0.0001f64);
        assert_eq!(json(&floats), "[0.1,2,1.0e+20,3.0e-5,-0,100,1.5,10000000000000000,0.0001]");
        assert_eq!(
            json(&(u64::MAX, f64::MAX, 5e-324f64, 123456789.123f64)),
            "[1.8446744073709552e+19,1.7976931348623157e+308,5.0e-324,123456789.123]"
        );
        // PHP_INT_MAX, PHP_INT_MIN, the ints that stay ints, and PHP_INT_MAX + 1 (a float in PHP)
        assert_eq!(
            json(&(i64::MAX, i64::MIN, 0u8, -1i8, 65535u16, u32::MAX, i128::from(i64::MAX) + 1)),
            "[9223372036854775807,-9223372036854775808,0,-1,65535,4294967295,9.223372036854776e+18]"
        );
        // f32 values are the doubles their shortest text names (0.1f32 is PHP 0.1)
        assert_eq!(json(&(0.1f32, 1.5f32, 16777216f32, -0.0f32)), "[0.1,1.5,16777216,-0]");
    }

    #[test]
    fn inf_and_nan_are_the_encoders_error() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(to_value(&vec![bad]), Err(SerializeError::Encode(EncodeError::InfOrNan)));
        }
        assert_eq!(to_value(&f32::NAN), Err(SerializeError::Encode(EncodeError::InfOrNan)));
        assert_eq!(
            to_value(&f64::NAN).map_err(|e| e.to_string()),
            Err("Inf and NaN cannot be JSON encoded".to_owned())
        );
    }

    #[test]
    fn bad_keys_and_custom_errors() {
        let m: BTreeMap<Vec<i32>, i32> = [(vec![1], 1)].into_iter().collect();
        assert!(matches!(to_value(&m), Err(SerializeError::Custom(m)) if m.contains("PHP array key")));
        let m: Vec<(f64, i32)> = vec![(1.5, 1)];
        struct FloatKeys(Vec<(f64, i32)>);
        impl Serialize for FloatKeys {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                for (k, v) in &self.0 {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
        assert!(matches!(to_value(&FloatKeys(m)), Err(SerializeError::Custom(_))));
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: ser::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
                Err(ser::Error::custom("no way"))
            }
        }
        assert_eq!(to_value(&vec![Failing]), Err(SerializeError::Custom("no way".into())));
    }

    #[test]
    fn depth_is_php_s() {
        // 512 nested lists encode (PHP's default depth), 513 do not
        fn nest(levels: usize) -> Value {
            let mut v = Value::Int(1);
            for _ in 0..levels {
                v = Value::list(vec![v]);
            }
            v
        }
        assert!(to_value(&nest(512)).is_ok());
        assert_eq!(to_value(&nest(513)), Err(SerializeError::Encode(EncodeError::Depth)));
    }

    #[test]
    fn values_serialize_as_their_json_shape() {
        // a Value goes through to_value unchanged, except that objects become arrays
        let v = Value::map(vec![
            ("list", Value::list(vec![Value::Int(1), Value::Float(0.5), Value::Null])),
            ("7", Value::from("seven")),
            ("obj", Value::object(vec![("a", Value::Bool(true))])),
        ]);
        let back = to_value(&v).unwrap_or(Value::Null);
        assert_eq!(back.get("7"), Some(&Value::from("seven")));
        assert_eq!(json(&v), r#"{"list":[1,0.5,null],"7":"seven","obj":{"a":true}}"#);
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"list":[1,0.5,null],"7":"seven","obj":{"a":true}}"#
        );
        // serde_json values keep their order and types
        let sj: serde_json::Value = serde_json::from_str(r#"{"b":[1,2.5,"x"],"a":{"0":"zero"}}"#).unwrap_or_default();
        assert_eq!(json(&sj), r#"{"a":["zero"],"b":[1,2.5,"x"]}"#);
        assert!(serde_json::to_string(&Value::Str(vec![0xff])).is_err());
    }
}
