//! A streaming server that answers instantly, for measuring clients (the
//! capacity benchmark, `vllm bench serve`) and for failure-mode tests.
//!
//! ```text
//! cargo run --release --example instant_server -- --port 8123 --tokens-per-chunk 1
//! ```
//! Prints `listening on http://127.0.0.1:PORT` once it accepts connections
//! (`--port 0` picks a free port). See tests/support/instant_server.rs for the
//! endpoints and the misbehaviours chosen by model name.

#[path = "../tests/support/instant_server.rs"]
mod instant_server;

use std::io::Write;

fn main() {
    let mut config = instant_server::Config::default();
    let mut port = 0u16;
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--port" => {
                port = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--port: a port number"))
            }
            "--tokens-per-chunk" => {
                config.tokens_per_chunk = value()
                    .parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .unwrap_or_else(|| usage("--tokens-per-chunk: a positive integer"))
            }
            "--threads" => {
                threads = value()
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--threads: a positive integer"))
            }
            "--model" => config.model = value(),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| usage(&format!("cannot listen on port {port}: {e}")));
        let address = listener.local_addr().expect("a bound address");
        println!("listening on http://{address}");
        std::io::stdout().flush().ok();
        instant_server::serve(listener, config).await;
    });
}

fn usage(message: &str) -> ! {
    eprintln!("instant_server: {message}");
    eprintln!(
        "usage: instant_server [--port N] [--tokens-per-chunk K] [--threads N] [--model NAME]"
    );
    std::process::exit(2);
}
