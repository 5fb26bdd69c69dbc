//! A TensorRT-LLM install for the `trtllm` engine: where it is, its version,
//! whether every library it needs resolves (and loads), the engine directory
//! against `--tp`, MPI for tensor parallelism, the end token, CUDA's headers.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::libsearch::{self, SystemLibraries};
use super::python;
use super::{Check, Status};
use crate::config::DoctorConfig;
use crate::engine::trtllm::{version, EndTokens, EngineLayout, MpiWorld, TrtllmConfig};

/// The install's folder: `TRTLLM_ROOT`, else the one this binary was linked
/// against, else the Python environment's `tensorrt_llm` package.
fn root(python_package: Option<PathBuf>) -> Option<(PathBuf, &'static str)> {
    if let Some(root) = std::env::var_os("TRTLLM_ROOT") {
        return Some((PathBuf::from(root), "TRTLLM_ROOT"));
    }
    if let Some(libs) = option_env!("ENGINEBENCH_TRTLLM_LIBS") {
        if let Some(root) = Path::new(libs).parent() {
            return Some((
                root.to_path_buf(),
                "the install this binary was built against",
            ));
        }
    }
    python_package.map(|p| (p, "the Python environment's tensorrt_llm package"))
}

/// The checks, and whether the install is the test double (which needs no GPU).
pub(super) fn checks(config: &DoctorConfig) -> (Vec<Check>, bool) {
    let mut out = Vec::new();
    let interpreter = python::interpreter(config.python.as_deref());
    let answer = python::probe(&interpreter, &json!({})).unwrap_or_default();
    let site_packages: Vec<PathBuf> = answer["site_packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(PathBuf::from))
        .collect();
    let package = answer["tensorrt_llm"].as_str().map(PathBuf::from);
    let Some((root, found_by)) = root(package) else {
        out.push(Check::new(
            Status::Fail,
            "tensorrt_llm",
            format!(
                "not found: TRTLLM_ROOT is not set and {} has no tensorrt_llm package; install \
                 TensorRT-LLM 1.2.x (pip install tensorrt_llm==1.2.* from NVIDIA's index, or its \
                 container) or set TRTLLM_ROOT",
                interpreter.display()
            ),
        ));
        return (out, false);
    };
    let (version_check, double) = install_version(&root, found_by);
    out.push(version_check);
    let libs = [
        root.join("libs"),
        root.join("lib"),
        root.join("cpp/build/tensorrt_llm"),
    ]
    .into_iter()
    .find(|d| d.join("libtensorrt_llm.so").is_file());
    match libs {
        Some(libs) => out.extend(libraries(&libs, &site_packages)),
        None => out.push(Check::new(
            Status::Fail,
            "libraries",
            format!("no libtensorrt_llm.so under {}/libs", root.display()),
        )),
    }
    out.extend(engine_dir(config));
    out.push(cuda_headers(&site_packages));
    (out, double)
}

fn install_version(root: &Path, found_by: &str) -> (Check, bool) {
    let text = ["version.py", "tensorrt_llm/version.py"]
        .iter()
        .find_map(|f| std::fs::read_to_string(root.join(f)).ok());
    let Some(found) = text.as_deref().and_then(version::from_version_py) else {
        let check = Check::new(
            Status::Warn,
            "tensorrt_llm",
            format!(
                "{} ({found_by}): no version.py, version unknown",
                root.display()
            ),
        );
        return (check, false);
    };
    let where_ = format!("{} ({found_by})", root.display());
    let double = version::classify(&found) == version::Support::TestDouble;
    let check = match (version::classify(&found), version::problem(&found)) {
        (version::Support::TestDouble, _) => Check::new(
            Status::Ok,
            "tensorrt_llm",
            format!(
                "{found} at {where_}: the test double of the executor API; it measures nothing"
            ),
        ),
        (_, None) => Check::new(
            Status::Ok,
            "tensorrt_llm",
            format!(
                "{found} at {where_}: has the C++ executor (supported: 1.2.x, 1.3.0rc1..rc{})",
                version::LAST_RC_WITH_EXECUTOR
            ),
        ),
        (_, Some(problem)) => Check::new(Status::Fail, "tensorrt_llm", problem),
    };
    (check, double)
}

/// Every library the two libraries need, resolved as the loader will (their
/// own run path, LD_LIBRARY_PATH, the system) or as the build links them (the
/// Python environment's wheels), then loaded in that order.
fn libraries(libs: &Path, site_packages: &[PathBuf]) -> Vec<Check> {
    let roots: Vec<PathBuf> = ["libtensorrt_llm.so", "libnvinfer_plugin_tensorrt_llm.so"]
        .iter()
        .map(|l| libs.join(l))
        .collect();
    let mut out = Vec::new();
    if let Some(missing) = roots.iter().find(|r| !r.is_file()) {
        return vec![Check::new(
            Status::Fail,
            "libraries",
            format!("{} is missing", missing.display()),
        )];
    }
    let folders = libsearch::wheel_and_system_folders(site_packages);
    let env: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let closure = libsearch::resolve(&roots, &folders, &env, &SystemLibraries::detect());
    for found in closure.searched() {
        out.push(Check::new(
            Status::Ok,
            found.name.clone(),
            format!(
                "{} (needed by {}; only in the Python environment: the build links it with an rpath)",
                found.path.display(),
                found.needed_by
            ),
        ));
    }
    for missing in &closure.missing {
        out.push(Check::new(
            Status::Fail,
            missing.name.clone(),
            format!(
                "not found (needed by {}): {}",
                missing.needed_by,
                libsearch::install_hint(&missing.name)
            ),
        ));
    }
    if !closure.missing.is_empty() {
        return out;
    }
    // What the binary would load, in order: the libraries only the wheels
    // have, then TensorRT-LLM's own, each by path.
    let order: Vec<&PathBuf> = closure
        .searched()
        .map(|f| &f.path)
        .chain(roots.iter())
        .collect();
    let mut loaded = Vec::new();
    for path in order {
        // SAFETY: loading runs the library's initializers, as starting the binary would.
        match unsafe { libloading::os::unix::Library::open(Some(path), libc_flags()) } {
            Ok(library) => loaded.push(library),
            Err(e) => {
                out.push(Check::new(
                    Status::Fail,
                    "load",
                    format!("{}: {e}", path.display()),
                ));
                return out;
            }
        }
    }
    // SAFETY: only looks the symbol up.
    let registers = loaded.last().is_some_and(|plugin| {
        unsafe { plugin.get::<unsafe extern "C" fn()>(b"initTrtLlmPlugins\0") }.is_ok()
    });
    out.push(Check::new(
        if registers { Status::Ok } else { Status::Fail },
        "load",
        format!(
            "{} and every library it needs load{}",
            libs.join("libtensorrt_llm.so").display(),
            if registers {
                "; the plugin library exports initTrtLlmPlugins"
            } else {
                ", but the plugin library lacks initTrtLlmPlugins"
            }
        ),
    ));
    std::mem::forget(loaded); // unloading TensorRT-LLM's libraries at exit helps nobody
    out
}

fn libc_flags() -> i32 {
    libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL
}

/// `--model ENGINE_DIR`'s config.json against `--tp`, the process layout, MPI
/// and the end token.
fn engine_dir(config: &DoctorConfig) -> Vec<Check> {
    let Some(dir) = &config.model else {
        return vec![Check::new(
            Status::Fail,
            "engine",
            "no --model ENGINE_DIR (a directory built by trtllm-build)",
        )];
    };
    let settings = match TrtllmConfig::default().with_args(&config.engine_args) {
        Ok(settings) => settings,
        Err(e) => return vec![Check::new(Status::Fail, "engine args", e.0)],
    };
    let layout = match EngineLayout::read(dir) {
        Ok(layout) => layout,
        Err(e) => return vec![Check::new(Status::Fail, "engine", e.0)],
    };
    let mut out = Vec::new();
    let ranks = layout.tp * layout.pp;
    // The process layout is checked for the run as it will be launched: under
    // mpirun with one rank per GPU, or one process in orchestrator mode.
    let world = match &settings.worker_path {
        Some(_) => MpiWorld { rank: 0, size: 1 },
        None => MpiWorld {
            rank: 0,
            size: ranks,
        },
    };
    match layout.check(config.tensor_parallel_size, &settings, &world) {
        Ok(()) => out.push(Check::new(
            Status::Ok,
            "engine",
            format!(
                "{}: tp {} x pp {}, max_seq_len {:?}",
                dir.display(),
                layout.tp,
                layout.pp,
                layout.max_seq_len
            ),
        )),
        Err(e) => out.push(Check::new(Status::Fail, "engine", e.0)),
    }
    if ranks > 1 {
        out.push(match &settings.worker_path {
            Some(worker) => Check::new(Status::Ok, "mpi", format!("orchestrator mode: the executor spawns {ranks} workers with {worker} (MPI_Comm_spawn)")),
            None if which("mpirun") => Check::new(Status::Ok, "mpi", format!("leader mode: run under mpirun -n {ranks}")),
            None => Check::new(Status::Fail, "mpi", format!("the engine needs {ranks} ranks but mpirun is not on PATH: install Open MPI, or pass --engine-arg worker_path=PATH/executorWorker")),
        });
    }
    if !config.ignore_eos {
        let tokenizer = config.tokenizer.as_deref();
        let dirs: Vec<&Path> = tokenizer.into_iter().chain([dir.as_path()]).collect();
        out.push(match EndTokens::resolve(&settings, &dirs) {
            Ok(Some(end)) => Check::new(Status::Ok, "end of sequence", format!("end id {} from {}", end.end_id, end.source)),
            Ok(None) => Check::new(Status::Fail, "end of sequence", "no end token known (the executor has no tokenizer): pass --tokenizer HF_MODEL_DIR, --engine-arg end_id=N, or --ignore-eos"),
            Err(e) => Check::new(Status::Fail, "end of sequence", e.0),
        });
    }
    out
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// What building the bridge needs: cuda_fp16.h and the headers it includes.
fn cuda_headers(site_packages: &[PathBuf]) -> Check {
    let mut dirs: Vec<PathBuf> = std::env::var_os("CUDA_HOME")
        .map(|h| vec![Path::new(&h).join("include")])
        .unwrap_or_default();
    for site in site_packages {
        for sub in [
            "cu13",
            "cu12",
            "cuda_runtime",
            "cuda_nvcc",
            "cuda_cccl",
            "cuda_crt",
        ] {
            dirs.push(site.join("nvidia").join(sub).join("include"));
        }
    }
    let has = |file: &str| dirs.iter().find(|d| d.join(file).exists());
    match (has("cuda_fp16.h"), has("crt/host_defines.h"), has("nv/target")) {
        (Some(d), Some(_), Some(_)) => Check::new(Status::Ok, "cuda headers", format!("{} (for building the bridge)", d.display())),
        _ => Check::new(
            Status::Warn,
            "cuda headers",
            "cuda_fp16.h with crt/ and nv/target not found: building the bridge needs CUDA_HOME, or pip install nvidia-cuda-runtime nvidia-cuda-crt nvidia-cuda-cccl",
        ),
    }
}
