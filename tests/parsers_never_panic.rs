//! Property tests over every parser of user input: flag values (the whole
//! command line of run, compare and check, as clap and our checks see it),
//! prompts JSONL, ShareGPT JSON, and the result, samples and detailed files
//! that compare, check, plot and report read. Arbitrary and mutated inputs
//! never panic, and never allocate more than a bound proportional to the
//! input: a thread-local counting allocator measures each case's peak.
//! (The SSE parser has its own, in `engine::http::sse`.)
//!
//! Cases per property: `PROPTEST_CASES` (CI sets it), else 256.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::OsString;
use std::path::Path;

use proptest::prelude::*;

// ---- the counting allocator ------------------------------------------------

/// Counts this thread's bytes in use and their peak; other threads' (the
/// test harness's, other tests') are not mixed in.
struct Counting;

thread_local! {
    static IN_USE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // try_with: the thread may be tearing down its locals.
    let _ = IN_USE.try_with(|used| {
        let now = used.get() + bytes;
        used.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are plain thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns what it returned and the peak of bytes it had in
/// use at once, beyond what was in use before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = IN_USE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let value = f();
    let peak = PEAK.with(Cell::get) - before;
    (value, peak.max(0) as usize)
}

/// The most a parser may hold for an input of `len` bytes.
fn bound(len: usize) -> usize {
    64 * len + (16 << 20)
}

// ---- inputs ----------------------------------------------------------------

/// A valid text, mutated: bytes deleted, inserted, replaced, slices
/// repeated, the end cut off. Mostly near-valid, the inputs that reach
/// deepest into a parser.
fn mutated(valid: String) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    let edit = (
        0..4u8,
        0..len,
        0..len,
        prop::collection::vec(any::<u8>(), 0..8),
    );
    prop::collection::vec(edit, 0..6).prop_map(move |edits| {
        let mut bytes = valid.clone().into_bytes();
        for (kind, at, other, insert) in edits {
            let at = at.min(bytes.len());
            let end = other.clamp(at, bytes.len());
            match kind {
                0 => {
                    bytes.drain(at..end);
                }
                1 => {
                    bytes.splice(at..at, insert);
                }
                2 => {
                    let slice = bytes[at..end].to_vec();
                    bytes.splice(at..at, slice);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    })
}

/// Arbitrary bytes, or a mutation of `valid`.
fn input(valid: &str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        4 => mutated(valid.to_string()),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- flags -----------------------------------------------------------------

/// Values that break number parsers: extremes, non-finite, signs, units,
/// separators, empty items.
fn flag_value() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "0",
        "-0",
        "1",
        "-1",
        "1e-300",
        "1e300",
        "1e26",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "",
        " ",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "9223372036854775807",
        "0.5",
        "1.5",
        "2,,3",
        ",",
        "1,1",
        "ttft:0",
        "tpot:-1",
        "e2el:1e300",
        "k=v",
        "=",
        "5/s",
        "5/min",
        "5/h",
        "1:0",
        "0:1",
        "-1:5",
        "\u{feff}1",
        "1_000",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        3 => special,
        2 => any::<f64>().prop_map(|v| v.to_string()),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        1 => "[-0-9.e,:=a-z/]{0,12}",
        1 => any::<String>(),
    ]
}

fn long_flags(command: clap::Command) -> Vec<String> {
    command
        .get_arguments()
        .filter(|a| !a.is_positional())
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect()
}

/// Parses and checks `args` as the binary would, without running anything.
fn parse_and_check(args: Vec<String>) {
    let args =
        std::iter::once(OsString::from("enginebench")).chain(args.into_iter().map(Into::into));
    if let Ok(command) = enginebench::cli::try_parse(args) {
        let _ = command.into_config();
    }
}

fn run_flags() -> Vec<String> {
    use clap::Args;
    long_flags(enginebench::cli::RunArgs::augment_args(clap::Command::new(
        "run",
    )))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn run_flags_never_panic(
        picks in prop::collection::vec((any::<prop::sample::Index>(), flag_value()), 1..4)
    ) {
        let flags = run_flags();
        let mut args = vec!["run".to_string()];
        for (flag, value) in picks {
            args.push(flag.get(&flags).clone());
            args.push(value);
        }
        let (_, peak) = peak_of(|| parse_and_check(args));
        prop_assert!(peak < bound(0), "{peak} bytes");
    }

    #[test]
    fn compare_and_check_flags_never_panic(
        check in any::<bool>(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), flag_value()), 1..4)
    ) {
        use clap::Args;
        let (name, command) = match check {
            true => ("check", enginebench::cli::CheckArgs::augment_args(clap::Command::new("check"))),
            false => ("compare", enginebench::cli::CompareArgs::augment_args(clap::Command::new("compare"))),
        };
        let flags = long_flags(command);
        let mut args = vec![name.to_string(), "a.json".into(), "b.json".into()];
        for (flag, value) in picks {
            args.push(flag.get(&flags).clone());
            args.push(value);
        }
        parse_and_check(args);
    }
}

// ---- workload files --------------------------------------------------------

const PROMPTS: &str = "{\"prompt_token_ids\": [5, 6, 7], \"output_len\": 4}\n\
                       {\"prompt_token_ids\": [8, 9]}\n\
                       {\"prompt\": \"the engine token\", \"output_len\": 2}\n";

const SHAREGPT: &str = "[{\"id\": \"a\", \"conversations\": [\
                        {\"from\": \"human\", \"value\": \"the engine batch\"},\
                        {\"from\": \"gpt\", \"value\": \"a token cache model\"}]},\
                        {\"id\": \"b\", \"conversations\": [\
                        {\"from\": \"human\", \"value\": \"prefill decode\"},\
                        {\"from\": \"gpt\", \"value\": \"latency\"}]}]";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prompts_files_never_panic(bytes in input(PROMPTS)) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "p.jsonl", &bytes);
        let (_, peak) = peak_of(|| enginebench::workload::prompts_file::load(&path, None, 8, 4));
        prop_assert!(peak < bound(bytes.len()), "{peak} bytes for {} input bytes", bytes.len());
    }
}

#[test]
fn sharegpt_files_never_panic() {
    // One tokenizer for every case: training one is the slow part.
    let tok_dir = tempfile::tempdir().unwrap();
    let tokenizer = common::train_tokenizer(tok_dir.path());
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(&input(SHAREGPT), |bytes| {
            let dir = tempfile::tempdir().unwrap();
            let path = write(dir.path(), "s.json", &bytes);
            let (_, peak) =
                peak_of(|| enginebench::workload::sharegpt::load(&path, &tokenizer, None, 4, 0));
            // The tokenizer file itself is read per load: part of the bound.
            let tokenizer_len = std::fs::metadata(&tokenizer).unwrap().len() as usize;
            prop_assert!(peak < bound(bytes.len() + tokenizer_len), "{peak} bytes");
            Ok(())
        })
        .unwrap();
}

// ---- result files ----------------------------------------------------------

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new("tests/fixtures/results").join(name)).unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn result_files_never_panic(bytes in input(&fixture("v0.1.0.json"))) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "r.json", &bytes);
        // The samples file it names, unmutated.
        std::fs::create_dir(dir.path().join("samples")).unwrap();
        write(dir.path(), "samples/v0.1.0.json", fixture("samples/v0.1.0.json").as_bytes());
        let (_, peak) = peak_of(|| {
            if let Ok(file) = enginebench::results::file::ResultFile::read(&path) {
                let _ = file.records();
            }
        });
        prop_assert!(peak < bound(bytes.len() * 4), "{peak} bytes");
    }

    #[test]
    fn detailed_records_never_panic(bytes in input(&fixture("v0.1.0.trial1.requests.jsonl"))) {
        let dir = tempfile::tempdir().unwrap();
        // A result whose samples are its detailed records: the mutated ones.
        let mut result: serde_json::Value = serde_json::from_str(&fixture("v0.1.0.json")).unwrap();
        result.as_object_mut().unwrap().remove("samples_file");
        result["detailed_file"] = "mutated.requests.jsonl".into();
        let path = write(dir.path(), "r.json", result.to_string().as_bytes());
        write(dir.path(), "mutated.requests.jsonl", &bytes);
        let (_, peak) = peak_of(|| {
            if let Ok(file) = enginebench::results::file::ResultFile::read(&path) {
                let _ = file.records();
            }
        });
        prop_assert!(peak < bound(bytes.len() * 2 + 200_000), "{peak} bytes");
    }

    #[test]
    fn samples_files_never_panic(bytes in input(&fixture("samples/v0.1.0.json"))) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "s.json", &bytes);
        let (_, peak) = peak_of(|| {
            enginebench::results::samples::SampleFile::read(&path)
        });
        prop_assert!(peak < bound(bytes.len()), "{peak} bytes");
    }
}
