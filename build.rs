//! Build script. The default build compiles pure Rust and needs no engine.
//! Native backends are configured here behind their cargo features.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "embed-python")]
    embed_python();
    #[cfg(feature = "trtllm")]
    trtllm::build();
}

/// The binary links the libpython that pyo3 found (`PYO3_PYTHON`, else `python3`
/// on PATH); record its folder so the binary (and `benches/engines.rs`, which
/// opens engines in-process too) runs without LD_LIBRARY_PATH.
#[cfg(feature = "embed-python")]
fn embed_python() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let config = pyo3_build_config::get();
    if let Some(dir) = &config.lib_dir {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
        println!("cargo:rustc-link-arg-benches=-Wl,-rpath,{dir}");
    }
    // Worker processes need a real interpreter when no environment is chosen.
    if let Some(python) = &config.executable {
        println!("cargo:rustc-env=ENGINEBENCH_BUILD_PYTHON={python}");
    }
}

/// The `trtllm` feature: compiles `cpp/trtllm_bridge.cc` and the `#[cxx::bridge]`
/// in `src/engine/trtllm/bridge.rs` against TensorRT-LLM's C++ executor API, or
/// against the test double in `tests/trtllm_double` (feature `trtllm-test-double`,
/// or a `TRTLLM_ROOT` holding that double's tree).
#[cfg(feature = "trtllm")]
mod trtllm {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const ENV: [&str; 5] = [
        "TRTLLM_ROOT",
        "TRTLLM_CXX11_ABI",
        "CUDA_HOME",
        "VIRTUAL_ENV",
        "TRTLLM_PYTHON",
    ];
    const BRIDGE: &str = "src/engine/trtllm/bridge.rs";
    const SOURCE: &str = "cpp/trtllm_bridge.cc";
    const DOUBLE: &str = "tests/trtllm_double";

    pub fn build() {
        for var in ENV {
            println!("cargo:rerun-if-env-changed={var}");
        }
        for path in [BRIDGE, SOURCE, "cpp/trtllm_bridge.h", DOUBLE] {
            println!("cargo:rerun-if-changed={path}");
        }
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        let double_feature = std::env::var_os("CARGO_FEATURE_TRTLLM_TEST_DOUBLE").is_some();
        let root = std::env::var_os("TRTLLM_ROOT").map(PathBuf::from);
        match root {
            _ if double_feature => build_double(&manifest.join(DOUBLE)),
            Some(root) if root.join("TEST_DOUBLE").is_file() => build_double(&root),
            _ => build_real(root),
        }
    }

    /// The test double: its headers stand in for TensorRT-LLM's and its one
    /// source file is compiled into the bridge's library. No CUDA needed.
    fn build_double(root: &Path) {
        let source = root.join("src/executor_double.cc");
        if !source.is_file() {
            fail(&format!(
                "the executor test double was asked for, but {} is missing",
                source.display()
            ));
        }
        cxx_build::bridge(BRIDGE)
            .file(SOURCE)
            .file(source)
            .include(root.join("include"))
            .std("c++17")
            .warnings(true)
            .compile("enginebench_trtllm");
    }

    fn build_real(root: Option<PathBuf>) {
        let root = root.unwrap_or_else(python_package);
        let include = first_with(
            &[root.join("include"), root.join("cpp/include")],
            "tensorrt_llm/executor/executor.h",
        )
        .unwrap_or_else(|| {
            fail(&format!(
                "no tensorrt_llm/executor/executor.h under {0}/include or {0}/cpp/include. \
                 Point TRTLLM_ROOT at a TensorRT-LLM 1.2.x install (the Python package's folder, \
                 with include/ and libs/) or source tree",
                root.display()
            ))
        });
        let lib_dirs = [
            root.join("libs"),
            root.join("lib"),
            root.join("cpp/build/tensorrt_llm"),
            root.join("cpp/build/tensorrt_llm/plugins"),
        ];
        let mut found = Vec::new();
        for lib in ["tensorrt_llm", "nvinfer_plugin_tensorrt_llm"] {
            let dir = first_with(&lib_dirs, &format!("lib{lib}.so")).unwrap_or_else(|| {
                fail(&format!(
                    "lib{lib}.so not found in {} (searched {}). Point TRTLLM_ROOT at a TensorRT-LLM \
                     1.2.x install with its libraries",
                    root.display(),
                    list(&lib_dirs)
                ))
            });
            found.push((lib, dir));
        }
        let cuda = cuda_include();
        let abi = match std::env::var("TRTLLM_CXX11_ABI").as_deref() {
            Err(_) | Ok("1") => "1",
            Ok("0") => "0",
            Ok(other) => fail(&format!("TRTLLM_CXX11_ABI={other}: use 0 or 1")),
        };
        cxx_build::bridge(BRIDGE)
            .file(SOURCE)
            .include(&include)
            .includes(&cuda)
            .define("ENABLE_BF16", None)
            .define("ENABLE_FP8", None)
            .define("_GLIBCXX_USE_CXX11_ABI", abi)
            .std("c++17")
            .compile("enginebench_trtllm");
        let mut dirs: Vec<&PathBuf> = found.iter().map(|(_, dir)| dir).collect();
        dirs.dedup();
        for dir in dirs {
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
        for (lib, _) in &found {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }

    /// The `tensorrt_llm` package of the active Python, found without importing it
    /// (importing it loads CUDA, which a build machine may lack).
    fn python_package() -> PathBuf {
        let script = "import importlib.util as u; s = u.find_spec('tensorrt_llm'); \
                      print(s.submodule_search_locations[0] if s else '')";
        let (python, found) = python(script);
        match found.lines().next() {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => fail(&format!(
                "TensorRT-LLM not found: TRTLLM_ROOT is not set and {python} has no tensorrt_llm \
                 package. Set TRTLLM_ROOT to a TensorRT-LLM 1.2.x install (with include/ and libs/), \
                 or activate the virtual environment where the tensorrt_llm 1.2.x wheel is installed"
            )),
        }
    }

    /// `CUDA_HOME/include`, else the include folders of the CUDA wheels: the
    /// runtime's (cuda_fp16.h), and beside it nvcc's (crt/) and CCCL's (nv/target),
    /// which cuda_fp16.h includes.
    fn cuda_include() -> Vec<PathBuf> {
        if let Some(home) = std::env::var_os("CUDA_HOME") {
            let include = PathBuf::from(home).join("include");
            if include.join("cuda_fp16.h").is_file() {
                return vec![include];
            }
            fail(&format!(
                "CUDA_HOME is set but {} has no cuda_fp16.h",
                include.display()
            ));
        }
        let script = "import importlib.util as u; s = u.find_spec('nvidia'); \
                      print('\\n'.join(s.submodule_search_locations) if s else '')";
        let (python, found) = python(script);
        let bases: Vec<&str> = found.lines().filter(|l| !l.is_empty()).collect();
        let under = |subdirs: &[&str]| -> Vec<PathBuf> {
            bases
                .iter()
                .flat_map(|base| {
                    subdirs
                        .iter()
                        .map(|s| Path::new(base).join(s).join("include"))
                })
                .collect()
        };
        let runtime = under(&["cu13", "cu12", "cuda_runtime"]);
        let Some(primary) = first_with(&runtime, "cuda_fp16.h") else {
            fail(&format!(
                "CUDA headers (cuda_fp16.h) not found: CUDA_HOME is not set and {python} has no \
                 nvidia-cuda-runtime wheel (searched {}). Set CUDA_HOME to a CUDA toolkit, or \
                 pip install nvidia-cuda-runtime, nvidia-cuda-nvcc and nvidia-cuda-cccl for \
                 TensorRT-LLM's CUDA version",
                if runtime.is_empty() {
                    "nvidia/*/include".into()
                } else {
                    list(&runtime)
                }
            ))
        };
        let mut dirs = vec![primary];
        dirs.extend(
            under(&["cuda_nvcc", "cuda_cccl", "cuda_crt"])
                .into_iter()
                .filter(|d| d.is_dir()),
        );
        dirs
    }

    /// Runs `script` with the active Python: `TRTLLM_PYTHON`, else the virtual
    /// environment's, else `python3`. Returns the interpreter and its stdout.
    fn python(script: &str) -> (String, String) {
        let python =
            std::env::var("TRTLLM_PYTHON").unwrap_or_else(|_| match std::env::var("VIRTUAL_ENV") {
                Ok(venv) => format!("{venv}/bin/python"),
                Err(_) => "python3".into(),
            });
        let output = Command::new(&python).arg("-c").arg(script).output();
        let stdout = match output {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => String::new(),
        };
        (python, stdout)
    }

    fn first_with(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
        dirs.iter().find(|d| d.join(file).is_file()).cloned()
    }

    fn list(dirs: &[PathBuf]) -> String {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        names.join(", ")
    }

    fn fail(message: &str) -> ! {
        eprintln!("error: the `trtllm` feature cannot be built: {message}.");
        eprintln!("(see third_party/README.md; the default build needs none of this)");
        std::process::exit(1);
    }
}
