//! Build script. The default build compiles pure Rust and needs no engine.
//! Native backends are configured here behind their cargo features.

// Shared with the crate, so the build and `enginebench doctor` agree on which
// TensorRT-LLM releases work and how their libraries are found.
#[cfg(feature = "trtllm")]
#[path = "src/doctor/libsearch.rs"]
mod libsearch;
#[cfg(feature = "trtllm")]
#[path = "src/engine/trtllm/version.rs"]
#[allow(dead_code)]
mod trtllm_version;

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
/// in `src/engine/trtllm/bridge.rs` against TensorRT-LLM's C++ executor API and
/// links its libraries, or builds the test double in `tests/trtllm_double`
/// (feature `trtllm-test-double`) as an install of its own, with the same
/// headers layout, shared libraries and library search as a real one.
#[cfg(feature = "trtllm")]
mod trtllm {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use crate::libsearch;
    use crate::trtllm_version as version;

    const ENV: [&str; 7] = [
        "TRTLLM_ROOT",
        "TRTLLM_CXX11_ABI",
        "TRTLLM_DOUBLE_NAMESPACE",
        "CUDA_HOME",
        "VIRTUAL_ENV",
        "TRTLLM_PYTHON",
        "LD_LIBRARY_PATH",
    ];
    const BRIDGE: &str = "src/engine/trtllm/bridge.rs";
    const SOURCE: &str = "cpp/trtllm_bridge.cc";
    const DOUBLE: &str = "tests/trtllm_double";
    const LIBRARIES: [&str; 2] = ["tensorrt_llm", "nvinfer_plugin_tensorrt_llm"];

    /// An install: its headers, its two libraries' folder, its version.
    struct Install {
        include: PathBuf,
        libs: PathBuf,
        version: String,
        double: bool,
    }

    pub fn build() {
        for var in ENV {
            println!("cargo:rerun-if-env-changed={var}");
        }
        for path in [
            BRIDGE,
            SOURCE,
            "cpp/trtllm_bridge.h",
            DOUBLE,
            "src/doctor/libsearch.rs",
        ] {
            println!("cargo:rerun-if-changed={path}");
        }
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        let double = std::env::var_os("CARGO_FEATURE_TRTLLM_TEST_DOUBLE").is_some();
        let python = Python::find(double.then(|| manifest.join(".venv/bin/python")));
        let cuda = cuda_include(&python);
        let install = if double {
            build_double(&manifest.join(DOUBLE), &cuda, &python)
        } else {
            find_install(&python)
        };
        if let Some(problem) = version::problem(&install.version) {
            fail(&problem);
        }
        compile_bridge(&install, &cuda);
        link(&install, &python);
    }

    /// `TRTLLM_ROOT` (a pip package folder with include/ and libs/, or a source
    /// tree), else the `tensorrt_llm` package of the active Python.
    fn find_install(python: &Python) -> Install {
        let root = std::env::var_os("TRTLLM_ROOT")
            .map(PathBuf::from)
            .or_else(|| python.package("tensorrt_llm"))
            .unwrap_or_else(|| {
                fail(&format!(
                    "TensorRT-LLM not found: TRTLLM_ROOT is not set and {} has no tensorrt_llm \
                     package. Set TRTLLM_ROOT to a TensorRT-LLM 1.2.x install (with include/ and \
                     libs/), or activate the virtual environment of the tensorrt_llm 1.2.x wheel",
                    python.describe()
                ))
            });
        let version = [
            root.join("version.py"),
            root.join("tensorrt_llm/version.py"),
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| version::from_version_py(&text));
        let include = first_with(
            &[root.join("include"), root.join("cpp/include")],
            "tensorrt_llm/executor/executor.h",
        );
        let include =
            include.unwrap_or_else(|| match version.as_deref().and_then(version::problem) {
                Some(problem) => fail(&problem),
                None => fail(&format!(
                "no tensorrt_llm/executor/executor.h under {0}/include or {0}/cpp/include. Point \
                 TRTLLM_ROOT at a TensorRT-LLM 1.2.x install (the Python package's folder, with \
                 include/ and libs/) or source tree",
                root.display()
            )),
            });
        let lib_dirs = [
            root.join("libs"),
            root.join("lib"),
            root.join("cpp/build/tensorrt_llm"),
            root.join("cpp/build/tensorrt_llm/plugins"),
        ];
        let libs = first_with(&lib_dirs, "libtensorrt_llm.so").unwrap_or_else(|| {
            fail(&format!(
                "libtensorrt_llm.so not found in {} (searched {}). Point TRTLLM_ROOT at a \
                 TensorRT-LLM 1.2.x install with its libraries",
                root.display(),
                list(&lib_dirs)
            ))
        });
        Install {
            include,
            libs,
            version: version.unwrap_or_else(|| "unknown".into()),
            double: false,
        }
    }

    /// The double as an install under OUT_DIR: `include` is the double's
    /// headers, `libs` its two shared libraries, built here and linked against
    /// the CUDA runtime, cuBLAS and NCCL found in the Python environment, as
    /// the real ones are; `version.py` names the layout's release line.
    fn build_double(double: &Path, cuda: &[PathBuf], python: &Python) -> Install {
        let out =
            PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("trtllm-double");
        let libs = out.join("libs");
        std::fs::create_dir_all(&libs)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", libs.display())));
        let inline = namespace_layout_is_inline();
        let folders = libsearch::wheel_and_system_folders(&python.site_packages());
        let mut include_dirs = cuda.to_vec();
        include_dirs.extend(folders.iter().filter_map(|d| {
            let include = d.parent()?.join("include");
            include.join("nccl.h").is_file().then_some(include)
        }));
        let compile = |source: &str| -> Vec<PathBuf> {
            let mut build = cc::Build::new();
            build
                .cpp(true)
                .std("c++17")
                .pic(true)
                .warnings(true)
                .file(double.join("src").join(source))
                .include(double.join("include"))
                .includes(&include_dirs)
                .define("ENABLE_BF16", None)
                .define("ENABLE_FP8", None)
                .define("_GLIBCXX_USE_CXX11_ABI", "1");
            if inline {
                build.define("TRTLLM_DOUBLE_INLINE_NAMESPACE", None);
            }
            build.compile_intermediates()
        };
        let needs = |stem: &str| -> (PathBuf, String) {
            folders
                .iter()
                .find_map(|dir| {
                    let entries = std::fs::read_dir(dir).ok()?;
                    entries.flatten().find_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let version = name.strip_prefix(&format!("{stem}.so."))?;
                        version.chars().all(|c| c.is_ascii_digit()).then(|| (dir.clone(), name))
                    })
                })
                .unwrap_or_else(|| {
                    fail(&format!(
                        "the executor test double links {stem} like the real library, but no {stem}.so.N \
                         is in {} (searched {}). Run python/setup-env.sh, or {}",
                        python.describe(),
                        list(&folders),
                        libsearch::install_hint(stem)
                    ))
                })
        };
        let deps: Vec<(PathBuf, String)> = ["libcudart", "libcublas", "libnccl"]
            .iter()
            .map(|s| needs(s))
            .collect();
        let executor = compile("executor_double.cc");
        let mut args: Vec<String> = deps
            .iter()
            .map(|(dir, _)| format!("-L{}", dir.display()))
            .collect();
        args.push("-Wl,--no-as-needed".into());
        args.extend(deps.iter().map(|(_, name)| format!("-l:{name}")));
        shared_library(&libs.join("libtensorrt_llm.so"), &executor, &args);
        let plugin = compile("plugin_double.cc");
        let args = vec![
            format!("-L{}", libs.display()),
            "-Wl,--no-as-needed".into(),
            "-ltensorrt_llm".into(),
        ];
        shared_library(
            &libs.join("libnvinfer_plugin_tensorrt_llm.so"),
            &plugin,
            &args,
        );
        let version = if inline {
            "1.3.0rc20+testdouble"
        } else {
            "1.2.0+testdouble"
        };
        write(
            &out.join("version.py"),
            &format!("__version__ = \"{version}\"\n"),
        );
        let include = out.join("include");
        let _ = std::fs::remove_file(&include);
        std::os::unix::fs::symlink(double.join("include"), &include)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", include.display())));
        Install {
            include,
            libs,
            version: version.into(),
            double: true,
        }
    }

    /// `TRTLLM_DOUBLE_NAMESPACE=inline` builds the double (and so the bridge)
    /// with the headers' inline `_v1` namespace; `plain` (default) without.
    fn namespace_layout_is_inline() -> bool {
        match std::env::var("TRTLLM_DOUBLE_NAMESPACE").as_deref() {
            Err(_) | Ok("plain") => false,
            Ok("inline") => true,
            Ok(other) => fail(&format!(
                "TRTLLM_DOUBLE_NAMESPACE={other}: use plain or inline"
            )),
        }
    }

    fn shared_library(path: &Path, objects: &[PathBuf], args: &[String]) {
        let compiler = cc::Build::new().cpp(true).get_compiler();
        let soname = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let status = compiler
            .to_command()
            .arg("-shared")
            .arg("-o")
            .arg(path)
            .args(objects)
            .arg(format!("-Wl,-soname,{soname}"))
            .arg("-Wl,-rpath,$ORIGIN")
            .args(args)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            fail(&format!("linking {} failed ({status:?})", path.display()));
        }
    }

    fn compile_bridge(install: &Install, cuda: &[PathBuf]) {
        let abi = match std::env::var("TRTLLM_CXX11_ABI").as_deref() {
            Err(_) | Ok("1") => "1",
            Ok("0") => "0",
            Ok(other) => fail(&format!("TRTLLM_CXX11_ABI={other}: use 0 or 1")),
        };
        let mut build = cxx_build::bridge(BRIDGE);
        build
            .file(SOURCE)
            .include(&install.include)
            .includes(cuda)
            .define("ENABLE_BF16", None)
            .define("ENABLE_FP8", None)
            .define("_GLIBCXX_USE_CXX11_ABI", abi)
            .std("c++17");
        if install.double {
            build.warnings(true);
            if namespace_layout_is_inline() {
                build.define("TRTLLM_DOUBLE_INLINE_NAMESPACE", None);
            }
        }
        build.compile("enginebench_trtllm");
    }

    /// Links the two libraries and, directly, every library they need that the
    /// loader would not find by itself, with an rpath to each folder: the
    /// binary's run path does not apply to its libraries' own dependencies, so
    /// each of those must already be loaded, by the binary, when they are needed.
    fn link(install: &Install, python: &Python) {
        let roots: Vec<PathBuf> = LIBRARIES
            .iter()
            .map(|l| install.libs.join(format!("lib{l}.so")))
            .collect();
        for root in &roots {
            if !root.is_file() {
                fail(&format!("{} is missing", root.display()));
            }
        }
        let folders = libsearch::wheel_and_system_folders(&python.site_packages());
        let closure =
            libsearch::resolve(&roots, &folders, &[], &libsearch::SystemLibraries::detect());
        let (driver, missing): (Vec<_>, Vec<_>) = closure
            .missing
            .iter()
            .partition(|m| libsearch::is_driver_library(&m.name));
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|m| {
                    format!(
                        "{} (needed by {}; {})",
                        m.name,
                        m.needed_by,
                        libsearch::install_hint(&m.name)
                    )
                })
                .collect();
            fail(&format!(
                "TensorRT-LLM {} needs libraries that are not installed: {}. Searched the library's \
                 own run path, the system's libraries and {}",
                install.version,
                names.join("; "),
                if folders.is_empty() { "no Python environment folders".into() } else { list(&folders) }
            ));
        }
        for library in &driver {
            println!(
                "cargo:warning={} (needed by {}) is the GPU driver's library; it is not on this \
                 machine, so the binary will only start where a driver is installed",
                library.name, library.needed_by
            );
        }
        let mut dirs: Vec<PathBuf> = vec![install.libs.clone()];
        for found in closure.searched() {
            if let Some(dir) = found.path.parent() {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_path_buf());
                }
            }
        }
        for dir in &dirs {
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
            println!("cargo:rustc-link-arg=-Wl,-rpath-link,{}", dir.display());
        }
        for lib in LIBRARIES {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
        // Linked by file name, so each lands in the binary's DT_NEEDED even unused.
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        for found in closure.searched() {
            println!("cargo:rustc-link-arg={}", found.path.display());
        }
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
        if !driver.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,--allow-shlib-undefined");
        }
        let searched: Vec<String> = closure
            .searched()
            .map(|f| f.path.display().to_string())
            .collect();
        println!(
            "cargo:rustc-env=ENGINEBENCH_TRTLLM_LIBS={}",
            install.libs.display()
        );
        println!(
            "cargo:rustc-env=ENGINEBENCH_TRTLLM_LINKED={}",
            searched.join(":")
        );
        println!(
            "cargo:rustc-env=ENGINEBENCH_TRTLLM_BUILD_VERSION={}",
            install.version
        );
    }

    /// `CUDA_HOME/include`, else the include folders of the CUDA wheels: the
    /// runtime's (cuda_fp16.h), and beside it the C runtime's (crt/) and CCCL's
    /// (nv/target), which cuda_fp16.h includes. CUDA 13's wheels all install
    /// into nvidia/cu13/include; CUDA 12's each have their own folder.
    fn cuda_include(python: &Python) -> Vec<PathBuf> {
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
        let bases: Vec<PathBuf> = python
            .site_packages()
            .iter()
            .map(|s| s.join("nvidia"))
            .filter(|d| d.is_dir())
            .collect();
        let under = |subdirs: &[&str]| -> Vec<PathBuf> {
            bases
                .iter()
                .flat_map(|base| subdirs.iter().map(move |s| base.join(s).join("include")))
                .collect()
        };
        let runtime = under(&["cu13", "cu12", "cuda_runtime"]);
        let hint = "pip install nvidia-cuda-runtime, nvidia-cuda-crt and nvidia-cuda-cccl (CUDA 13; \
                    for CUDA 12: nvidia-cuda-runtime-cu12, nvidia-cuda-nvcc-cu12, nvidia-cuda-cccl-cu12) \
                    for TensorRT-LLM's CUDA version, or run python/setup-env.sh";
        let Some(primary) = first_with(&runtime, "cuda_fp16.h") else {
            fail(&format!(
                "CUDA headers (cuda_fp16.h) not found: CUDA_HOME is not set and {} has no \
                 nvidia-cuda-runtime wheel (searched {}). Set CUDA_HOME to a CUDA toolkit, or {hint}",
                python.describe(),
                if runtime.is_empty() { "nvidia/*/include".into() } else { list(&runtime) }
            ))
        };
        let mut dirs = vec![primary.clone()];
        dirs.extend(
            under(&["cuda_nvcc", "cuda_cccl", "cuda_crt"])
                .into_iter()
                .filter(|d| d.is_dir()),
        );
        let has = |file: &str| dirs.iter().any(|d| d.join(file).is_file());
        if !has("crt/host_defines.h") || !has("nv/target") {
            fail(&format!(
                "{} has cuda_fp16.h but not the headers it includes (crt/host_defines.h, nv/target): {hint}",
                primary.display()
            ));
        }
        dirs
    }

    /// The Python whose packages the build looks into: `TRTLLM_PYTHON`, else the
    /// virtual environment's, else (for the test double) the repository's
    /// `.venv`, else `python3`.
    struct Python {
        path: String,
    }

    impl Python {
        fn find(repo_venv: Option<PathBuf>) -> Self {
            let path = std::env::var("TRTLLM_PYTHON").ok().or_else(|| {
                std::env::var("VIRTUAL_ENV")
                    .ok()
                    .map(|venv| format!("{venv}/bin/python"))
            });
            let path = path
                .or_else(|| {
                    repo_venv
                        .filter(|p| p.is_file())
                        .map(|p| p.display().to_string())
                })
                .unwrap_or_else(|| "python3".into());
            Self { path }
        }

        fn describe(&self) -> String {
            format!("the Python at {}", self.path)
        }

        fn run(&self, script: &str) -> String {
            match Command::new(&self.path).arg("-c").arg(script).output() {
                Ok(out) if out.status.success() => {
                    String::from_utf8_lossy(&out.stdout).into_owned()
                }
                _ => String::new(),
            }
        }

        fn site_packages(&self) -> Vec<PathBuf> {
            let script = "import site, sys; print('\\n'.join(site.getsitepackages() + [p for p in sys.path if p.endswith('site-packages')]))";
            let mut dirs: Vec<PathBuf> = self
                .run(script)
                .lines()
                .filter(|l| !l.is_empty())
                .map(PathBuf::from)
                .collect();
            dirs.dedup();
            dirs
        }

        /// A package's folder, found without importing it (importing
        /// TensorRT-LLM loads CUDA, which a build machine may lack).
        fn package(&self, name: &str) -> Option<PathBuf> {
            let script = format!(
                "import importlib.util as u; s = u.find_spec('{name}'); \
                 print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"
            );
            let out = self.run(&script);
            let dir = out.lines().next().unwrap_or_default();
            (!dir.is_empty()).then(|| PathBuf::from(dir))
        }
    }

    fn first_with(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
        dirs.iter().find(|d| d.join(file).exists()).cloned()
    }

    fn list(dirs: &[PathBuf]) -> String {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        names.join(", ")
    }

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }

    fn fail(message: &str) -> ! {
        eprintln!("error: the `trtllm` feature cannot be built: {message}.");
        eprintln!("(see third_party/README.md; the default build needs none of this)");
        std::process::exit(1);
    }
}
