//! What `enginebench doctor --engine NAME` checks: before a long run,
//! everything a real run of one engine needs, one [`Check`] each with what it
//! found or what is missing and how to fix it. A run can start when no check
//! failed; `commands::doctor` prints them and sets the exit code.
//!
//! It needs no engine feature: the Python engines are asked through their
//! environment's interpreter (each driver's `preflight`), and a TensorRT-LLM
//! install is read from its files and loaded the way the binary would load it.

pub mod libsearch;
mod python;
mod trtllm;

use std::fmt;
use std::time::Duration;

use crate::config::DoctorConfig;
use crate::engine;
use crate::env::gpu;
use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub status: Status,
    pub name: String,
    pub detail: String,
}

impl Check {
    pub fn new(status: Status, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            name: name.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "[{tag}] {}: {}", self.name, self.detail)
    }
}

/// Every check for the engine, in order. Unknown engines are usage errors.
pub fn checks(config: &DoctorConfig) -> Result<Vec<Check>, Error> {
    let mut out = vec![this_build(&config.engine)?];
    // Whether a run needs a GPU: TensorRT-LLM does (not its test double); the
    // CPU builds of vLLM and transformers do not.
    let gpu = match config.engine.as_str() {
        engine::sim::NAME => {
            out.push(Check::new(
                Status::Ok,
                "engine",
                "the simulated engine needs nothing: its figures model in-flight batching, they measure no engine",
            ));
            None
        }
        "vllm" | "hf" => {
            out.extend(python::checks(config));
            Some(Status::Warn)
        }
        "trtllm-pytorch" => {
            let checks = python::checks(config);
            // The LLM API's test double says so in its version, and runs on CPU.
            let double = checks
                .iter()
                .any(|c| c.name == "tensorrt_llm package" && c.detail.contains("+test-double"));
            out.extend(checks);
            Some(if double { Status::Warn } else { Status::Fail })
        }
        engine::trtllm::NAME => {
            let (checks, double) = trtllm::checks(config);
            out.extend(checks);
            Some(if double { Status::Warn } else { Status::Fail })
        }
        "openai" | "triton" => {
            out.push(server_reachable(&config.base_url));
            None
        }
        _ => unreachable!("this_build checked the name"),
    };
    if let Some(missing) = gpu {
        out.push(gpus(missing));
    }
    Ok(out)
}

/// Every engine name the project knows, built or not.
const ENGINES: [&str; 7] = [
    "sim",
    "vllm",
    "hf",
    "trtllm-pytorch",
    "trtllm",
    "openai",
    "triton",
];

/// Whether this binary can open the engine; the feature to build with if not.
fn this_build(name: &str) -> Result<Check, Error> {
    if !ENGINES.contains(&name) {
        return Err(Error::Usage(format!(
            "unknown engine '{name}' (known: {})",
            ENGINES.join(", ")
        )));
    }
    if engine::check_name(name).is_ok() {
        return Ok(Check::new(
            Status::Ok,
            "this build",
            format!("opens the {name} engine"),
        ));
    }
    let feature = match name {
        "trtllm" => "--features trtllm (against TensorRT-LLM 1.2.x)",
        "openai" | "triton" => "--features http",
        _ => "--features vllm,hf,trtllm-pytorch,embed-python (or use the Python wheel)",
    };
    Ok(Check::new(
        Status::Fail,
        "this build",
        format!("has no {name} engine: cargo build --release {feature}"),
    ))
}

/// GPUs through the CUDA driver (cudarc, loaded at run time); `missing` is
/// what having none means for the engine.
fn gpus(missing: Status) -> Check {
    let probe = gpu::probe();
    if !probe.gpus.is_empty() {
        let names: Vec<String> = probe
            .gpus
            .iter()
            .map(|g| format!("{} ({:.0} GiB)", g.name, g.memory_gib))
            .collect();
        let driver = probe.cuda_driver_version.as_deref().unwrap_or("?");
        return Check::new(
            Status::Ok,
            "gpus",
            format!("{}; CUDA driver {driver}", names.join(", ")),
        );
    }
    let why = probe.note.unwrap_or_else(|| "no GPU".into());
    Check::new(missing, "gpus", format!("none: {why}"))
}

/// The HTTP engines need their server up: a TCP connection to it.
fn server_reachable(base_url: &str) -> Check {
    let authority = base_url
        .split("://")
        .nth(1)
        .unwrap_or(base_url)
        .split('/')
        .next()
        .unwrap_or_default();
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    use std::net::{TcpStream, ToSocketAddrs};
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    match addrs
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, Duration::from_secs(3)).ok())
    {
        Some(_) => Check::new(
            Status::Ok,
            "server",
            format!("{base_url} accepts connections"),
        ),
        None => Check::new(
            Status::Fail,
            "server",
            format!("nothing answers at {base_url}: start the server, or pass --base-url"),
        ),
    }
}
