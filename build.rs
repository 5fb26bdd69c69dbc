//! Build script. The default build compiles pure Rust and needs no engine.
//! Native backends are configured here behind their cargo features.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "embed-python")]
    embed_python();
}

/// The binary links the libpython that pyo3 found (`PYO3_PYTHON`, else `python3`
/// on PATH); record its folder so the binary runs without LD_LIBRARY_PATH.
#[cfg(feature = "embed-python")]
fn embed_python() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let config = pyo3_build_config::get();
    if let Some(dir) = &config.lib_dir {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
    // Worker processes need a real interpreter when no environment is chosen.
    if let Some(python) = &config.executable {
        println!("cargo:rustc-env=ENGINEBENCH_BUILD_PYTHON={python}");
    }
}
