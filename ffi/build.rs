//! Link flags of the FFI library.
fn main() {
    // PHP's FFI may dlclose() the library at the end of a request while a lease thread of ours
    // still runs in it; `-z nodelete` keeps it mapped until the process exits.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    println!("cargo:rerun-if-changed=build.rs");
}
