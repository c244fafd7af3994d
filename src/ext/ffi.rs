//! The few Zend APIs ext-php-rs does not wrap, declared here and used through small safe
//! functions. This is the only file of the crate with hand-written `unsafe` blocks; each one says
//! why it is sound.
//!
//! All three symbols are exported by the PHP binary (`ZEND_API`/`PHPAPI`), which resolves them
//! when it loads the extension.
#![allow(unsafe_code)]

use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use ext_php_rs::ffi::{
    zend_array_destroy, zend_class_entry, zend_hash_get_current_data_ex, zend_hash_get_current_key_type_ex,
    zend_hash_get_current_key_zval_ex, zend_hash_move_forward_ex, HashPosition, HashTable,
};
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ClassEntry;

extern "C" {
    /// `spl_ce_RuntimeException` (ext/spl, always compiled in).
    static spl_ce_RuntimeException: *mut zend_class_entry;
    /// `php_json_serializable_ce`, the `JsonSerializable` interface (ext/json, always compiled in).
    static php_json_serializable_ce: *mut zend_class_entry;
    /// `HashTable *zend_get_properties_for(zval *obj, zend_prop_purpose purpose)`: the property
    /// table json_encode reads; must be released with `zend_release_properties`.
    fn zend_get_properties_for(obj: *mut Zval, purpose: c_int) -> *mut HashTable;
}

/// `ZEND_PROP_PURPOSE_JSON` of `zend_prop_purpose` (Zend/zend_object_handlers.h: DEBUG,
/// ARRAY_CAST, SERIALIZE, VAR_EXPORT, JSON).
const ZEND_PROP_PURPOSE_JSON: c_int = 4;
/// `GC_IMMUTABLE` in `GC_FLAGS` (Zend/zend_types.h).
const GC_IMMUTABLE: u32 = 1 << 6;

/// `HASH_KEY_IS_STRING` / `HASH_KEY_IS_LONG` of `zend_hash_get_current_key_type_ex`.
const HASH_KEY_IS_STRING: i64 = 1;
const HASH_KEY_IS_LONG: i64 = 2;

/// The entries of a PHP array or property table, in order: `(key, value)`, the key a zval
/// holding an int or a string. Values are the raw slots: property tables hold `IS_INDIRECT`
/// slots (possibly pointing at an `IS_UNDEF` uninitialised typed property), which callers follow.
///
/// Unlike ext-php-rs' own iterator, this one walks until the table's end instead of counting
/// `zend_array_count()` entries, which leaves out uninitialised typed properties: with one of
/// those in an object's table, the last property would be missed.
pub(crate) fn entries(ht: &ZendHashTable) -> Entries<'_> {
    Entries { ht, pos: 0 }
}

/// See [`entries`].
pub(crate) struct Entries<'a> {
    ht: &'a ZendHashTable,
    pos: HashPosition,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Zval, &'a Zval);

    fn next(&mut self) -> Option<Self::Item> {
        let ht = ptr::from_ref(self.ht).cast_mut();
        let pos = &raw mut self.pos;
        // SAFETY: `ht` is a live table borrowed for 'a; the position API validates `pos` (it skips
        // deleted buckets and reports the end), as ZEND_HASH_FOREACH-free C code uses it. The key
        // is copied into a zval we own (a string key gains a reference, released when the `Zval`
        // drops); the value pointer points into the table, which outlives the borrow.
        unsafe {
            #[allow(clippy::unnecessary_cast)] // c_int up to PHP 8.4, an enum from 8.5
            let ty = zend_hash_get_current_key_type_ex(ht, pos) as i64;
            if ty != HASH_KEY_IS_STRING && ty != HASH_KEY_IS_LONG {
                return None;
            }
            let mut key = Zval::new();
            zend_hash_get_current_key_zval_ex(ht, &raw mut key, pos);
            let value = zend_hash_get_current_data_ex(ht, pos).cast::<Zval>().as_ref()?;
            zend_hash_move_forward_ex(ht, pos);
            Some((key, value))
        }
    }
}

/// `\RuntimeException`. Usable at module startup (when ext-php-rs' `ClassEntry::try_find`, which
/// reads `EG(class_table)`, is not).
///
/// # Panics
/// If SPL has not registered it, which cannot happen after PHP's own startup (SPL is always
/// built in and starts before any shared extension).
pub(crate) fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: SPL sets the pointer once, at its module startup, before shared extensions start;
    // after that it is only read. It points at a class entry that lives until PHP shuts down.
    let ce = unsafe { spl_ce_RuntimeException.as_ref() };
    match ce {
        Some(ce) => ce,
        None => panic!("\\RuntimeException is not registered"),
    }
}

/// `\JsonSerializable`, or `None` before ext/json started (never, at request time).
pub(crate) fn json_serializable() -> Option<&'static ClassEntry> {
    // SAFETY: as for `runtime_exception`: set once at ext/json's startup, then only read.
    unsafe { php_json_serializable_ce.as_ref() }
}

/// The properties `json_encode` encodes for a plain object (`zend_get_properties_for(obj,
/// ZEND_PROP_PURPOSE_JSON)`): declared then dynamic properties, with objects that customise what
/// they expose (`DateTime`, `ArrayObject`...) answering as they do for `json_encode`. Mangled
/// (protected/private) names and `IS_INDIRECT` slots are the caller's business, as in PHP.
pub(crate) struct JsonProperties(NonNull<HashTable>);

impl JsonProperties {
    /// The table of `obj`, which must hold an object (`None` otherwise, or if the object has none).
    pub(crate) fn of(obj: &Zval) -> Option<JsonProperties> {
        if !obj.is_object() {
            return None;
        }
        // SAFETY: `obj` is a live object zval borrowed for the call. The function reads the zval
        // (it never writes it, despite the non-const pointer) and returns a table whose reference
        // we now own (released in `Drop`), or NULL.
        let ht = unsafe { zend_get_properties_for(ptr::from_ref(obj).cast_mut(), ZEND_PROP_PURPOSE_JSON) };
        NonNull::new(ht).map(JsonProperties)
    }

    /// The table.
    pub(crate) fn table(&self) -> &ZendHashTable {
        // SAFETY: we hold a reference to the table until `Drop`, and `&self` cannot outlive us.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for JsonProperties {
    fn drop(&mut self) {
        // `zend_release_properties(ht)`, a C macro: drop our reference unless the table is
        // immutable, destroying it when it was the last one.
        let ht = self.0.as_ptr();
        // SAFETY: `ht` is the live table `zend_get_properties_for` returned, and we own one
        // reference to it. Reading `type_info` from the `gc.u` union is how Zend reads GC_FLAGS.
        unsafe {
            let flags = (*ht).gc.u.type_info & 0x3f0;
            if flags & GC_IMMUTABLE == 0 {
                (*ht).gc.refcount -= 1;
                if (*ht).gc.refcount == 0 {
                    zend_array_destroy(ht);
                }
            }
        }
    }
}
