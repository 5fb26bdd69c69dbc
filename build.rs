//! Build script. The default build compiles pure Rust and needs no engine.
//! Native backends (the C++ executor bridge) are configured here behind their
//! cargo features; without them this script only tells cargo when to rerun.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
