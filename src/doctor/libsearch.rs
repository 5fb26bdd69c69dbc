//! Which shared libraries a library needs and where the loader will find them.
//!
//! `build.rs` includes this file (plain std only) to link the `trtllm` engine,
//! and `enginebench doctor` uses it to check an install, so both resolve
//! libraries the same way. It reads the ELF dynamic section (DT_NEEDED,
//! DT_RUNPATH, DT_RPATH, DT_SONAME) and emulates the loader: a library's own
//! run path, then the system's (`ldconfig -p`, the default folders). What only
//! the Python environment's wheels hold (cuBLAS, NCCL, the CUDA runtime,
//! TensorRT's libnvinfer) the binary must link itself, with an rpath: a run
//! path in the binary does not apply to its libraries' own dependencies.
#![allow(dead_code)] // build.rs and the doctor each use a part

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The dynamic-section entries of one shared object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dynamic {
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub runpath: Vec<String>,
    pub rpath: Vec<String>,
}

/// Reads a 64-bit little-endian ELF file's dynamic section.
pub fn read_dynamic(path: &Path) -> Result<Dynamic, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_dynamic(&data).map_err(|why| format!("{}: {why}", path.display()))
}

fn parse_dynamic(data: &[u8]) -> Result<Dynamic, String> {
    let u16_at = |at: usize| -> Option<u64> {
        Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?) as u64)
    };
    let u32_at = |at: usize| -> Option<u64> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?) as u64)
    };
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
    };
    if data.get(0..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF file".into());
    }
    if data.get(4) != Some(&2) || data.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let bad = || "truncated ELF file".to_string();
    let shoff = u64_at(0x28).ok_or_else(bad)? as usize;
    let shentsize = u16_at(0x3a).ok_or_else(bad)? as usize;
    let shnum = u16_at(0x3c).ok_or_else(bad)? as usize;
    // Section headers: type at +4, offset at +0x18, size at +0x20, link at +0x28.
    let section = |i: usize| -> Option<(u64, usize, usize, usize)> {
        let at = shoff + i * shentsize;
        Some((
            u32_at(at + 4)?,
            u64_at(at + 0x18)? as usize,
            u64_at(at + 0x20)? as usize,
            u32_at(at + 0x28)? as usize,
        ))
    };
    const SHT_DYNAMIC: u64 = 6;
    let Some((_, offset, size, link)) = (0..shnum)
        .filter_map(section)
        .find(|(kind, ..)| *kind == SHT_DYNAMIC)
    else {
        return Ok(Dynamic::default()); // statically linked
    };
    let (_, strtab, strsize, _) = section(link).ok_or_else(bad)?;
    let string = |at: u64| -> Option<String> {
        let start = strtab + at as usize;
        let bytes = data.get(start..strtab + strsize)?;
        let end = bytes.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
    };
    let mut out = Dynamic::default();
    for entry in (offset..offset + size).step_by(16) {
        let (Some(tag), Some(value)) = (u64_at(entry), u64_at(entry + 8)) else {
            break;
        };
        let split = |s: String| {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        match tag {
            0 => break,
            1 => out.needed.extend(string(value)),
            14 => out.soname = string(value),
            15 => out.rpath = string(value).map(split).unwrap_or_default(),
            29 => out.runpath = string(value).map(split).unwrap_or_default(),
            _ => {}
        }
    }
    Ok(out)
}

/// Libraries the system's loader finds without help: its cache and default folders.
#[derive(Clone, Debug, Default)]
pub struct SystemLibraries {
    by_name: HashMap<String, PathBuf>,
    folders: Vec<PathBuf>,
}

impl SystemLibraries {
    /// `ldconfig -p` when it runs, and the default folders always.
    pub fn detect() -> Self {
        let mut by_name = HashMap::new();
        for ldconfig in ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"] {
            let Ok(out) = Command::new(ldconfig).arg("-p").output() else {
                continue;
            };
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                // "	libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
                let Some((left, path)) = line.split_once("=>") else {
                    continue;
                };
                let name = left.split_whitespace().next().unwrap_or_default();
                if left.contains("x86-64") || !cfg!(target_arch = "x86_64") {
                    by_name
                        .entry(name.to_string())
                        .or_insert_with(|| PathBuf::from(path.trim()));
                }
            }
            break;
        }
        let folders = [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        Self { by_name, folders }
    }

    /// Only the given folders (tests).
    pub fn only(folders: Vec<PathBuf>) -> Self {
        Self {
            by_name: HashMap::new(),
            folders,
        }
    }

    pub fn find(&self, name: &str) -> Option<PathBuf> {
        self.by_name.get(name).cloned().or_else(|| {
            self.folders
                .iter()
                .map(|f| f.join(name))
                .find(|p| p.is_file())
        })
    }
}

/// How one needed library is found.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// The loader finds it by itself (the system, or the needing library's run path).
    Loader,
    /// Only in the given folders: whoever loads the library must add it.
    Searched,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub name: String,
    pub path: PathBuf,
    pub origin: Origin,
    /// The library that needs it.
    pub needed_by: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Missing {
    pub name: String,
    pub needed_by: String,
}

/// Every library `roots` need, transitively.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Closure {
    pub found: Vec<Found>,
    pub missing: Vec<Missing>,
}

impl Closure {
    /// What the loader cannot find by itself, in the order needed.
    pub fn searched(&self) -> impl Iterator<Item = &Found> {
        self.found.iter().filter(|f| f.origin == Origin::Searched)
    }
}

/// The loader's view of `roots` and everything they need, with `extra` as the
/// folders an rpath may add (the Python environment's wheels) and `env` those
/// the loader is told at run time (LD_LIBRARY_PATH; empty at build time).
pub fn resolve(
    roots: &[PathBuf],
    extra: &[PathBuf],
    env: &[PathBuf],
    system: &SystemLibraries,
) -> Closure {
    let mut closure = Closure::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<PathBuf> = roots.iter().cloned().collect();
    for root in roots {
        if let Some(name) = root.file_name() {
            seen.insert(name.to_string_lossy().into_owned());
        }
        if let Ok(Some(soname)) = read_dynamic(root).map(|d| d.soname) {
            seen.insert(soname);
        }
    }
    while let Some(library) = queue.pop_front() {
        let Ok(dynamic) = read_dynamic(&library) else {
            continue;
        };
        let origin_dir = library.parent().map(Path::to_path_buf).unwrap_or_default();
        let own: Vec<PathBuf> = dynamic
            .runpath
            .iter()
            .chain(if dynamic.runpath.is_empty() {
                dynamic.rpath.iter()
            } else {
                [].iter()
            })
            .map(|p| {
                PathBuf::from(
                    p.replace("$ORIGIN", &origin_dir.to_string_lossy())
                        .replace("${ORIGIN}", &origin_dir.to_string_lossy()),
                )
            })
            .collect();
        let needed_by = library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for name in dynamic.needed {
            if !seen.insert(name.clone()) {
                continue;
            }
            let in_dirs =
                |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(&name)).find(|p| p.is_file());
            let (path, origin, follow) = if let Some(path) = in_dirs(&own).or_else(|| in_dirs(env))
            {
                (path, Origin::Loader, true)
            } else if let Some(path) = system.find(&name) {
                (path, Origin::Loader, false) // the system's own libraries need only the system
            } else if let Some(path) = in_dirs(extra) {
                (path, Origin::Searched, true)
            } else {
                closure.missing.push(Missing {
                    name,
                    needed_by: needed_by.clone(),
                });
                continue;
            };
            if follow {
                queue.push_back(path.clone());
            }
            closure.found.push(Found {
                name,
                path,
                origin,
                needed_by: needed_by.clone(),
            });
        }
    }
    closure
}

/// The library folders of a Python environment's CUDA, NCCL, TensorRT and
/// TensorRT-LLM wheels, given its site-packages folders, plus the usual MPI
/// and CUDA installs of the system. Only folders that exist.
pub fn wheel_and_system_folders(site_packages: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for site in site_packages {
        let nvidia = site.join("nvidia");
        if let Ok(entries) = std::fs::read_dir(&nvidia) {
            let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            subdirs.sort();
            for sub in subdirs {
                dirs.push(sub.join("lib"));
                dirs.push(sub.join("lib64"));
            }
        }
        for sub in ["tensorrt_libs", "tensorrt_llm/libs", "torch/lib"] {
            dirs.push(site.join(sub));
        }
    }
    if let Some(home) = std::env::var_os("CUDA_HOME") {
        dirs.push(Path::new(&home).join("lib64"));
    }
    for var in ["MPI_HOME", "OMPI_HOME"] {
        if let Some(home) = std::env::var_os(var) {
            dirs.push(Path::new(&home).join("lib"));
        }
    }
    for dir in [
        "/opt/hpcx/ompi/lib",
        "/usr/local/mpi/lib",
        "/usr/lib/x86_64-linux-gnu/openmpi/lib",
        "/usr/local/cuda/lib64",
    ] {
        dirs.push(PathBuf::from(dir));
    }
    dirs.retain(|d| d.is_dir());
    dirs.dedup();
    dirs
}

/// How to get a library that nothing provides, by its name.
pub fn install_hint(name: &str) -> &'static str {
    let table: [(&str, &str); 9] = [
        ("libcuda.so", "the NVIDIA driver's library: install the GPU driver (it does not come from pip)"),
        ("libnvidia-ml", "the NVIDIA driver's library: install the GPU driver (it does not come from pip)"),
        ("libnvinfer", "TensorRT: pip install the tensorrt wheel TensorRT-LLM was built with (tensorrt-cu12-libs / tensorrt-cu13-libs)"),
        ("libcublas", "cuBLAS: pip install nvidia-cublas-cu12 (CUDA 12) or nvidia-cublas (CUDA 13)"),
        ("libcudart", "the CUDA runtime: pip install nvidia-cuda-runtime-cu12 (CUDA 12) or nvidia-cuda-runtime (CUDA 13)"),
        ("libnccl", "NCCL: pip install nvidia-nccl-cu12 (or -cu13)"),
        ("libmpi", "MPI: install Open MPI (Debian: apt install libopenmpi3) or set MPI_HOME; NVIDIA's containers ship HPC-X in /opt/hpcx"),
        ("libtensorrt_llm", "TensorRT-LLM's libraries: pip install tensorrt_llm (NVIDIA's index) or point TRTLLM_ROOT at an install"),
        ("libnvrtc", "NVRTC: pip install nvidia-cuda-nvrtc-cu12 (or nvidia-cuda-nvrtc for CUDA 13)"),
    ];
    table
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or(
            "install the package that provides it, or add its folder to LD_LIBRARY_PATH",
            |(_, hint)| hint,
        )
}

/// Libraries the GPU driver provides: absent on build machines without a GPU,
/// and found at run time where the driver is installed.
pub fn is_driver_library(name: &str) -> bool {
    name.starts_with("libcuda.so") || name.starts_with("libnvidia-ml.so")
}
