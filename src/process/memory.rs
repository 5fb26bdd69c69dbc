//! Memory checked before it is spent: what a command is about to allocate
//! (a workload, the records of its trials, an input file read whole) is
//! estimated and compared with what the machine can give, so an oversized
//! request is a one-line usage error instead of gigabytes allocated and a
//! process the kernel kills.
//!
//! "Available" is the smaller of `MemAvailable` (/proc/meminfo) and the
//! room left under the cgroup's memory limit (a container's), on Linux.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Share of the available memory one command may plan to use: the engine,
/// the allocator's slack and everything else need the rest.
const USABLE_SHARE: f64 = 0.5;

/// Bytes of memory the machine can give now, if it says.
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let from_meminfo = meminfo.as_deref().and_then(mem_available);
    let from_cgroup = cgroup_room();
    match (from_meminfo, from_cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemAvailable:  123456 kB` in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// cgroup v2: `memory.max - memory.current` of this process's group.
fn cgroup_room() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" (no limit) fails here
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// `12.3 GB`, `456 MB`, `7 KB`.
pub fn bytes_text(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=999_999 => format!("{:.0} KB", b / 1e3),
        1_000_000..=999_999_999 => format!("{:.0} MB", b / 1e6),
        1_000_000_000..=999_999_999_999 => format!("{:.1} GB", b / 1e9),
        _ => format!("{:.1} TB", b / 1e12),
    }
}

/// The most a command may plan to allocate: half of what is available, or
/// all of `fallback` when the machine does not say.
pub fn budget() -> u64 {
    match available() {
        Some(bytes) => (bytes as f64 * USABLE_SHARE) as u64,
        None => FALLBACK_BUDGET,
    }
}

/// Used where the machine tells nothing of its memory.
const FALLBACK_BUDGET: u64 = 8 << 30;

/// `Err` naming `what` when `bytes` exceeds [`budget`].
pub fn check(what: &str, bytes: u64) -> Result<(), String> {
    let budget = budget();
    if bytes <= budget {
        return Ok(());
    }
    Err(format!(
        "{what} would need about {} of memory, more than the {} this run may use \
         (half of what the machine has available)",
        bytes_text(bytes),
        bytes_text(budget)
    ))
}

/// The text of an input file that the caller will hold about
/// `bytes_per_byte` times over while parsing it. Refused (naming the file)
/// before it is read when that would not fit in [`budget`]; reads stop
/// there too, so a device or pipe that never ends (`/dev/zero`) cannot
/// fill memory. A UTF-8 byte-order mark at the start is dropped, as
/// editors on Windows write one.
pub fn read_text(path: &Path, bytes_per_byte: u64) -> Result<String, ReadError> {
    let limit = budget() / bytes_per_byte.max(1);
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let metadata = file.metadata().map_err(ReadError::Io)?;
    if metadata.is_dir() {
        return Err(ReadError::Io(std::io::Error::from_raw_os_error(
            libc::EISDIR,
        )));
    }
    if !metadata.is_file() && !metadata.file_type().is_fifo() {
        // A device or a folder: `/dev/zero` would never end, `/dev/random` block.
        return Err(ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let size = metadata.len();
    if size > limit {
        return Err(ReadError::TooLarge(too_large(size, limit)));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(too_large(bytes.len() as u64, limit)));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (invalid byte at offset {at})"),
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn too_large(size: u64, limit: u64) -> String {
    format!(
        "{} is more than this run can read and parse in memory ({} at most)",
        bytes_text(size),
        bytes_text(limit)
    )
}

/// Why [`read_text`] failed.
#[derive(Debug)]
pub enum ReadError {
    /// The operating system's reason (missing, a directory, not UTF-8, ...).
    Io(std::io::Error),
    /// The file is larger than memory allows.
    TooLarge(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::TooLarge(why) => f.write_str(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal: 100 kB\nMemFree: 5 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(mem_available(text), Some(2048 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        assert!(available().is_some_and(|b| b > 0), "this machine says");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes_text(1_500), "2 KB");
        assert_eq!(bytes_text(250_000_000), "250 MB");
        assert_eq!(bytes_text(46_000_000_000_000), "46.0 TB");
    }

    #[test]
    fn too_much_is_refused_with_the_figures() {
        assert!(check("this", 1).is_ok());
        let why = check("--num-prompts 10000000000", u64::MAX).unwrap_err();
        assert!(
            why.starts_with("--num-prompts 10000000000 would need about"),
            "{why}"
        );
    }

    #[test]
    fn inputs_drop_a_bom_and_endless_ones_are_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.json");
        std::fs::write(&path, "\u{feff}[1]").unwrap();
        assert_eq!(read_text(&path, 1).unwrap(), "[1]");
        std::fs::write(&path, b"\xff\xfe[").unwrap();
        let e = read_text(&path, 1).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        // /dev/zero says it is empty and never ends: refused unread.
        let e = read_text(Path::new("/dev/zero"), 1)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "not a regular file");
        assert!(read_text(dir.path(), 1).is_err(), "a folder");
    }
}
