//! `tqn`: the operator's command line for think-queue Redis queues (think-queue 1.x/2.x and 3.x,
//! PHP and Rust workers alike). `tqn --help` lists the commands; README "Rust services and the tqn
//! CLI" shows them. The code lives in src/bin/tqn/cli/, compiled into this binary only (it is not
//! part of the library's API); it needs the `cli` feature (on by default), which brings clap and
//! indicatif, so that the library, the PHP extension and the FFI bridge never compile them.
#![forbid(unsafe_code)]

mod cli;

fn main() {
    std::process::exit(cli::main());
}
