//! Argument types for parameters ext-php-rs has no type for: `mixed $data = ''` (where an
//! explicit `null` is data, not "omitted") and `array $x = []`.

use ext_php_rs::convert::{FromZval, StubLiteral};
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};

/// `mixed $data = ''`: any value; omitted means think-queue's default, the empty string.
pub struct Data<'a>(Option<&'a Zval>);

impl<'a> Data<'a> {
    /// The default (`''`).
    pub const OMITTED: Data<'static> = Data(None);

    /// The value, `None` when omitted.
    pub fn zval(&self) -> Option<&'a Zval> {
        self.0
    }
}

impl<'a> FromZval<'a> for Data<'a> {
    const TYPE: DataType = DataType::Mixed;
    // `mixed` accepts null (ext-php-rs would otherwise refuse an explicit null for a parameter
    // with a default); stubs print plain `mixed`
    const NULLABLE: bool = true;

    fn from_zval(zval: &'a Zval) -> Option<Self> {
        Some(Data(Some(zval)))
    }

    fn from_missing() -> Option<Self> {
        Some(Data(None))
    }
}

impl StubLiteral for Data<'_> {
    fn stub_literal(&self) -> String {
        "''".into()
    }
}

/// `array $x = []`.
pub struct ArrayArg<'a>(Option<&'a ZendHashTable>);

impl<'a> ArrayArg<'a> {
    /// The default (`[]`).
    pub const EMPTY: ArrayArg<'static> = ArrayArg(None);

    /// The array, `None` when omitted (empty).
    pub fn table(&self) -> Option<&'a ZendHashTable> {
        self.0
    }
}

impl<'a> FromZval<'a> for ArrayArg<'a> {
    const TYPE: DataType = DataType::Array;

    fn from_zval(zval: &'a Zval) -> Option<Self> {
        zval.array().map(|ht| ArrayArg(Some(ht)))
    }
}

impl StubLiteral for ArrayArg<'_> {
    fn stub_literal(&self) -> String {
        "[]".into()
    }
}
