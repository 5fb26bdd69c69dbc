//! Client capacity of the `openai` engine: chunks per second and client CPU
//! per chunk against the instant server (examples/instant_server.rs, its own
//! process, so the CPU counted here is the client's alone), at several
//! numbers of concurrent streams. The server answers at once, so the client
//! is the only thing that can be slow.
//!
//! ```text
//! cargo build --release --example instant_server
//! ulimit -n 8192   # 2048 streams need more than the usual 1024 descriptors
//! cargo bench --features http --bench http_capacity
//! ```
//! Environment (optional): `ENGINEBENCH_CAPACITY_STREAMS` (default
//! `1,64,512,2048`), `ENGINEBENCH_CAPACITY_OUTPUT_LEN` (tokens per request,
//! one per chunk; default 128), `ENGINEBENCH_CAPACITY_REQUESTS_PER_STREAM`
//! (default 4, at least 256 requests per level), `ENGINEBENCH_CAPACITY_ENGINE_ARGS`
//! (`KEY=VALUE,...`, e.g. `client_threads=2`). Under `cargo test --all-targets`
//! it runs a small smoke level only, against the same server run in this
//! process (`cargo test` builds examples without their plain names), so its
//! CPU figures count both sides and mean nothing.

#[path = "../tests/support/instant_server.rs"]
mod instant_server;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use enginebench::driver::{drive, DriveOptions};
use enginebench::engine::{self, EngineOptions, HttpOptions};
use enginebench::records::{Discard, Outcome};
use enginebench::schedule::Schedule;
use enginebench::workload::random::{generate, RandomSpec};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Kills the server when the bench ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The smoke run's server: the same code on a thread of this process.
fn start_server_in_process() -> (Option<Server>, String) {
    let address = instant_server::spawn(instant_server::Config::default());
    (None, format!("http://{address}"))
}

/// Starts target/<profile>/examples/instant_server and reads its address.
fn start_server() -> (Option<Server>, String) {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path: PathBuf = profile_dir.join("examples/instant_server");
    assert!(
        path.is_file(),
        "{} missing: cargo build --release --example instant_server",
        path.display()
    );
    let mut child = Command::new(&path)
        .args(["--port", "0", "--threads", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the instant server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_string();
    (Some(Server(child)), url)
}

/// This process's user + system CPU seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks_per_second()
}

/// `getconf CLK_TCK`, almost always 100 on Linux.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and
    // then a small smoke run checks that the bench works, quickly.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (streams, output_len, per_stream, min_requests) = if smoke {
        ("1,8".to_string(), "8".to_string(), "2".to_string(), 16)
    } else {
        (
            env_or("ENGINEBENCH_CAPACITY_STREAMS", "1,64,512,2048"),
            env_or("ENGINEBENCH_CAPACITY_OUTPUT_LEN", "128"),
            env_or("ENGINEBENCH_CAPACITY_REQUESTS_PER_STREAM", "4"),
            256,
        )
    };
    let streams: Vec<usize> = streams
        .split(',')
        .map(|s| s.trim().parse().expect("stream counts"))
        .collect();
    let output_len: u32 = output_len.parse().expect("an output length");
    let per_stream: usize = per_stream.parse().expect("requests per stream");
    let args: Vec<(String, String)> = env_or("ENGINEBENCH_CAPACITY_ENGINE_ARGS", "")
        .split(',')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    let (_server, url) = if smoke {
        start_server_in_process()
    } else {
        start_server()
    };
    let options = EngineOptions {
        model: Some("instant".into()),
        args,
        ignore_eos: true,
        http: HttpOptions {
            base_url: url.clone(),
            ..HttpOptions::default()
        },
        ..EngineOptions::default()
    };
    let mut engine = engine::open("openai", &options).expect("the openai engine opens");
    println!(
        "openai client against the instant server at {url}: {output_len} tokens per request, \
         one token per chunk, settings {:?}",
        engine.describe().settings.get("client_threads")
    );
    println!("| streams | requests | chunks | wall s | chunks/s | client CPU s | CPU us/chunk |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut id_base = 0;
    for &c in &streams {
        let requests = (c * per_stream).max(min_requests);
        let spec = RandomSpec {
            input_len: 16,
            output_len,
            range_ratio: 0.0,
            vocab_lo: 0,
            vocab_hi: 32_000,
            prefix_len: 0,
        };
        let items = generate(&spec, requests, 0);
        let schedule = Schedule::all_at_once(items.len(), Some(c));
        let options = DriveOptions {
            id_base,
            ..DriveOptions::ignoring_eos()
        };
        id_base += requests as u64;
        let stop = AtomicBool::new(false);
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        let outcome = drive(
            engine.as_mut(),
            &items,
            &schedule,
            &options,
            &mut Discard,
            &stop,
        );
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let failed: Vec<&str> = outcome
            .records
            .iter()
            .filter(|r| r.outcome != Outcome::Completed)
            .filter_map(|r| r.error.as_deref())
            .collect();
        assert!(!smoke || failed.is_empty(), "failed requests: {failed:?}");
        if !failed.is_empty() {
            println!(
                "| {c} | {requests} | {} failed, e.g. {} | | | | |",
                failed.len(),
                failed[0]
            );
            continue;
        }
        let chunks: usize = outcome.records.iter().map(|r| r.deliveries.len()).sum();
        println!(
            "| {c} | {requests} | {chunks} | {wall:.2} | {:.0} | {cpu:.2} | {:.2} |",
            chunks as f64 / wall,
            cpu / chunks as f64 * 1e6
        );
    }
    engine.shutdown().unwrap();
}
