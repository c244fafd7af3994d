//! PHP values ⇄ the core's [`Value`].
//!
//! - [`Converter`]: a zval as `json_encode` sees it (the core encoder then writes the bytes):
//!   scalars; strings as bytes (not validated here: the core reports invalid UTF-8 with PHP's
//!   message); arrays with int/string keys in order; references followed; `JsonSerializable` →
//!   `jsonSerialize()`'s result (an exception it throws propagates); backed enums → their value;
//!   other objects → the properties `json_encode` reads (public ones; `DateTime`, `ArrayObject`...
//!   answer as they do for `json_encode`; a `Closure` has none: `{}`). Resources and non-backed
//!   enums fail with PHP's messages, and so does a value that contains itself ("Recursion
//!   detected"). Nesting is not followed past [`MAX_DEPTH`] levels: deeper parts become `[]`, which
//!   the core then reports as "Maximum stack depth exceeded", as PHP does.
//! - [`to_zval`] / [`to_array`]: a decoded [`Value`] as `json_decode($s, true)` returns it
//!   (objects become arrays).

use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::{ClassFlags, DataType};
use ext_php_rs::types::{ArrayKey, ZendHashTable, ZendObject, ZendStr, Zval};
use ext_php_rs::zend::ExecutorGlobals;

use super::errors::{ExtError, ExtResult};
use super::ffi::{entries, json_serializable, JsonProperties};
use crate::{EncodeError, Key, Value};

/// Arrays/objects are followed this many levels deep; deeper ones are cut (`[]`), which is
/// already more than `json_encode`'s 512, so the payload fails with PHP's depth message.
pub(crate) const MAX_DEPTH: usize = 513;

/// `IS_UNDEF` (an uninitialised typed property slot).
const IS_UNDEF: u32 = 0;

/// Why a conversion stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// What `json_encode` would report (`json_last_error_msg()`).
    Encode(EncodeError),
    /// A PHP exception is pending (thrown by `jsonSerialize()`).
    Pending,
}

impl From<Fail> for ExtError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Encode(e) => ExtError::Core(crate::Error::Payload(e)),
            Fail::Pending => ExtError::PhpPending,
        }
    }
}

/// Converts PHP values for one payload (the recursion guard is per conversion).
#[derive(Default)]
pub(crate) struct Converter {
    /// Addresses of the arrays and objects being converted, outermost first: meeting one again
    /// is a cycle.
    path: Vec<usize>,
}

impl Converter {
    /// `v` as json_encode sees it.
    pub(crate) fn value(&mut self, v: &Zval) -> Result<Value, Fail> {
        self.convert(v, 0)
    }

    fn convert(&mut self, v: &Zval, depth: usize) -> Result<Value, Fail> {
        let v = v.dereference();
        Ok(match v.get_type() {
            DataType::Null | DataType::Undef => Value::Null,
            DataType::False => Value::Bool(false),
            DataType::True => Value::Bool(true),
            DataType::Long => Value::Int(v.long().unwrap_or_default()),
            DataType::Double => Value::Float(v.double().unwrap_or_default()),
            DataType::String => Value::Str(v.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default()),
            DataType::Array => match v.array() {
                Some(ht) => self.array(ht, depth + 1)?,
                None => Value::Array(vec![]),
            },
            DataType::Object(_) => match v.object() {
                Some(obj) => self.object(v, obj, depth + 1)?,
                None => Value::Null,
            },
            // resources, and anything else a userland value cannot be
            _ => return Err(Fail::Encode(EncodeError::UnsupportedType)),
        })
    }

    /// Enters the container at `addr`: false when it is already being converted (a cycle).
    fn enter(&mut self, addr: usize) -> bool {
        if self.path.contains(&addr) {
            return false;
        }
        self.path.push(addr);
        true
    }

    fn leave(&mut self) {
        self.path.pop();
    }

    fn array(&mut self, ht: &ZendHashTable, depth: usize) -> Result<Value, Fail> {
        if depth > MAX_DEPTH {
            return Ok(Value::Array(vec![]));
        }
        if !self.enter(std::ptr::from_ref(ht) as usize) {
            return Err(Fail::Encode(EncodeError::Recursion));
        }
        let mut items = Vec::with_capacity(ht.len());
        for (k, v) in entries(ht) {
            let key = match k.long() {
                Some(i) => Key::Int(i),
                None => Key::Str(k.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default()),
            };
            match self.convert(v, depth) {
                Ok(v) => items.push((key, v)),
                Err(e) => {
                    self.leave();
                    return Err(prefer_utf8(e, items.iter().map(|(_, v)| v)));
                }
            }
        }
        self.leave();
        Ok(Value::Array(items))
    }

    fn object(&mut self, zv: &Zval, obj: &ZendObject, depth: usize) -> Result<Value, Fail> {
        if depth > MAX_DEPTH {
            return Ok(Value::Array(vec![]));
        }
        let ce = obj.get_class_entry();
        if json_serializable().is_some_and(|js| ce.instance_of(js)) {
            if !self.enter(std::ptr::from_ref(obj) as usize) {
                return Err(Fail::Encode(EncodeError::Recursion));
            }
            let out = match obj.try_call_method("jsonSerialize", vec![]) {
                _ if ExecutorGlobals::has_exception() => Err(Fail::Pending),
                Err(_) => Err(Fail::Encode(EncodeError::UnsupportedType)),
                // `return $this;`: encoded as a plain object, as json_encode does
                Ok(ret) if ret.object().is_some_and(|o| std::ptr::eq(o, obj)) => {
                    self.leave();
                    return self.plain_object(zv, obj, depth);
                }
                // the result takes the object's place (same depth)
                Ok(ret) => self.convert(&ret, depth - 1),
            };
            self.leave();
            return out;
        }
        if ce.flags().contains(ClassFlags::Enum) {
            if ce.enum_backing_type == IS_UNDEF {
                return Err(Fail::Encode(EncodeError::NonBackedEnum));
            }
            // the case's `value` property (read from the table: ext-php-rs' `get_property` reads
            // for writing, which a readonly property refuses)
            let value = obj.get_properties().ok().and_then(|props| props.get("value"));
            return match value {
                Some(v) => self.convert(v.indirect().unwrap_or(v), depth - 1),
                None => Err(Fail::Encode(EncodeError::UnsupportedType)),
            };
        }
        self.plain_object(zv, obj, depth)
    }

    /// An object's json_encode properties: public ones (mangled names skipped), uninitialised
    /// typed properties skipped, int keys as their decimal text.
    fn plain_object(&mut self, zv: &Zval, obj: &ZendObject, depth: usize) -> Result<Value, Fail> {
        if !self.enter(std::ptr::from_ref(obj) as usize) {
            return Err(Fail::Encode(EncodeError::Recursion));
        }
        let mut items = Vec::new();
        if let Some(props) = JsonProperties::of(zv.dereference()) {
            for (k, v) in entries(props.table()) {
                let name = match k.long() {
                    Some(i) => i.to_string().into_bytes(),
                    None => k.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default(),
                };
                if name.first() == Some(&0) {
                    continue; // "\0*\0name" / "\0Class\0name": protected / private
                }
                let v = v.indirect().unwrap_or(v);
                if v.get_type() == DataType::Undef {
                    continue;
                }
                match self.convert(v, depth) {
                    Ok(v) => items.push((name, v)),
                    Err(e) => {
                        self.leave();
                        return Err(prefer_utf8(e, items.iter().map(|(_, v)| v)));
                    }
                }
            }
        }
        self.leave();
        Ok(Value::Object(items))
    }
}

/// PHP stops encoding at the first invalid UTF-8 string *value*: when a conversion fails
/// (resource, non-backed enum, cycle) after such a string was met, PHP reports the UTF-8 error.
/// `earlier` are the values converted before the failure, at one level (callers at each level
/// check theirs as the failure travels up).
pub(crate) fn prefer_utf8<'v>(e: Fail, earlier: impl IntoIterator<Item = &'v Value>) -> Fail {
    match e {
        Fail::Encode(EncodeError::UnsupportedType | EncodeError::NonBackedEnum | EncodeError::Recursion) => {
            if earlier.into_iter().any(has_invalid_utf8_value) {
                Fail::Encode(EncodeError::MalformedUtf8)
            } else {
                e
            }
        }
        e => e,
    }
}

/// Whether a string value (not a key: PHP goes on after a bad key) anywhere in `v` is not UTF-8.
fn has_invalid_utf8_value(v: &Value) -> bool {
    match v {
        Value::Str(s) => std::str::from_utf8(s).is_err(),
        Value::Array(items) => items.iter().any(|(_, v)| has_invalid_utf8_value(v)),
        Value::Object(items) => items.iter().any(|(_, v)| has_invalid_utf8_value(v)),
        _ => false,
    }
}

/// `v` as `json_decode(..., true)` returns it.
pub(crate) fn to_zval(v: &Value) -> ExtResult<Zval> {
    let mut z = Zval::new();
    match v {
        Value::Null => z.set_null(),
        Value::Bool(b) => z.set_bool(*b),
        Value::Int(i) => z.set_long(*i),
        Value::Float(f) => z.set_double(*f),
        Value::Str(s) => z.set_zend_string(ZendStr::new(s, false)),
        Value::Array(_) | Value::Object(_) => z.set_hashtable(to_array(v)?),
    }
    Ok(z)
}

/// An array or object `Value` as a PHP array (a scalar gives an empty array).
pub(crate) fn to_array(v: &Value) -> ExtResult<ZBox<ZendHashTable>> {
    let internal = |e: ext_php_rs::error::Error| ExtError::Internal(format!("cannot build a PHP array: {e}"));
    let mut ht = ZendHashTable::new();
    match v {
        Value::Array(items) => {
            for (k, v) in items {
                insert(&mut ht, k.clone(), to_zval(v)?).map_err(internal)?;
            }
        }
        Value::Object(items) => {
            for (k, v) in items {
                // json_decode(assoc) keys go through PHP's numeric-string rule
                insert(&mut ht, Key::from_bytes(k), to_zval(v)?).map_err(internal)?;
            }
        }
        _ => {}
    }
    Ok(ht)
}

fn insert(ht: &mut ZendHashTable, k: Key, v: Zval) -> ext_php_rs::error::Result<()> {
    match k {
        Key::Int(i) => ht.insert_at_index(i, v),
        Key::Str(s) => {
            let s = ZendStr::new(&s, false);
            ht.insert(ArrayKey::ZendString(&s), v)
        }
    }
}

/// A PHP array of string keys to values, in order (`keys()`, `sizes()`...).
pub(crate) fn assoc<V: ext_php_rs::convert::IntoZval>(entries: Vec<(&str, V)>) -> ExtResult<ZBox<ZendHashTable>> {
    let mut ht = ZendHashTable::new();
    for (k, v) in entries {
        ht.insert(k, v)
            .map_err(|e| ExtError::Internal(format!("cannot build a PHP array: {e}")))?;
    }
    Ok(ht)
}

/// The string-keyed entries of a config array, as the core's option parser reads them: scalars
/// converted, nested arrays (`cluster`, `sentinel`, `wait`) converted up to 4 levels deep, other
/// values replaced by a placeholder of their kind (only their kind matters), so an unknown key
/// never fails.
pub(crate) fn config_entries(ht: &ZendHashTable) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (k, v) in entries(ht) {
        let Some(key) = k.str() else { continue };
        out.push((key.to_owned(), config_value(v, 0)));
    }
    out
}

fn config_value(v: &Zval, depth: usize) -> Value {
    let v = v.dereference();
    match v.get_type() {
        DataType::Null => Value::Null,
        DataType::False => Value::Bool(false),
        DataType::True => Value::Bool(true),
        DataType::Long => Value::Int(v.long().unwrap_or_default()),
        DataType::Double => Value::Float(v.double().unwrap_or_default()),
        DataType::String => Value::Str(v.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default()),
        DataType::Array if depth < 4 => match v.array() {
            Some(ht) => Value::Array(
                entries(ht)
                    .map(|(k, item)| {
                        let key = match k.str() {
                            Some(s) => Key::Str(s.as_bytes().to_vec()),
                            None => Key::Int(k.long().unwrap_or_default()),
                        };
                        (key, config_value(item, depth + 1))
                    })
                    .collect(),
            ),
            None => Value::Array(vec![]),
        },
        DataType::Array => Value::Array(vec![]),
        _ => Value::Object(vec![]),
    }
}
