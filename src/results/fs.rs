//! Reading and writing the JSON files of results, as criterion's `fs.rs`
//! does: typed, and every error names the file. Writes go to a temporary
//! file renamed over the old one, so a reader never sees half a file and a
//! failed write leaves the previous version in place.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Fallback};
use crate::process::memory::{self, ReadError};

/// How a JSON file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Indented, keys in alphabetical order: files people open and diff.
    Pretty,
    /// One line, fields in declaration order: long arrays of samples.
    Compact,
}

/// A JSON file's parsed form takes up to this many times its size.
const JSON_MEMORY_PER_BYTE: u64 = 16;

/// The text of a JSON file, bounded by memory, without a byte-order mark.
fn read_text(path: &Path) -> Result<String, Error> {
    memory::read_text(path, JSON_MEMORY_PER_BYTE).map_err(|e| match e {
        ReadError::Io(source) => Error::unreadable(path, source),
        ReadError::TooLarge(why) => Error::bad_file(path, why),
    })
}

/// The JSON in `path`, untyped, for files whose kind is checked before they
/// are read as one (a format number, a key that marks them).
pub fn load_json(path: &Path) -> Result<Value, Error> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::bad_file(path, format!("not JSON: {e}")))
}

/// `value`, read from `path`, as a `T`; `what` names a `T` in the error.
pub fn parse<T: DeserializeOwned>(path: &Path, value: Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::bad_file(path, format!("{what}: {e}")))
}

/// The file at `path` as a `T`; `what` names a `T` in the error.
pub fn load<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, Error> {
    parse(path, load_json(path)?, what)
}

/// `value` as the text of a JSON file (with its final newline).
pub fn to_json<T: Serialize + ?Sized>(value: &T, layout: Layout) -> Result<Vec<u8>, Error> {
    let text = match layout {
        // Through a `Value`, whose maps keep their keys sorted.
        Layout::Pretty => {
            serde_json::to_value(value).and_then(|v| serde_json::to_string_pretty(&v))
        }
        Layout::Compact => serde_json::to_string(value),
    };
    // Our types serialize to JSON whatever their values (non-finite floats
    // become null); a failure here is a bug, reported rather than hidden.
    let mut bytes = text
        .map_err(|e| Error::Engine(format!("cannot encode a result as JSON: {e}")))?
        .into_bytes();
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `value` as JSON (and a final newline) to `path`, creating its folder.
pub fn save_atomically<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    layout: Layout,
) -> Result<(), Error> {
    write_file(path, &to_json(value, layout)?)
}

/// Writes `bytes` to `path` atomically, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    write_atomically(path, |out| out.write_all(bytes))
}

/// Writes to a temporary file beside `path` through `fill`, flushes it to
/// the disk (so a full disk or a quota shows up here, not later), then
/// renames it over `path`. On any failure the temporary file is removed: no
/// stale `.tmp` is left behind, and the previous `path`, if any, stays.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let tmp = temporary_beside(path, "tmp");
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        fill(&mut out)?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()
    });
    let renamed = written
        .map_err(|e| Error::unwritable(path, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::unwritable(path, e)));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// `NAME.PID.EXT` beside `path`: the temporary name of a file being written.
/// With the process id, two runs writing one folder never share one.
pub fn temporary_beside(path: &Path, extension: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.{extension}", std::process::id()));
    path.with_file_name(name)
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::unwritable(dir, e))
}

/// Where a run writes its files: the result folder asked for or, once a
/// write there fails (a full disk, a read-only mount, a name too long), a
/// fallback folder with the same layout, so that nothing measured is lost.
/// Every output of a run shares one, so a level's files stay together; the
/// first failure is kept for the end of the run, which then exits 1 saying
/// where the files went.
#[derive(Clone, Debug)]
pub struct OutputDir {
    state: Rc<RefCell<OutputState>>,
}

#[derive(Debug)]
struct OutputState {
    asked: PathBuf,
    fallback: PathBuf,
    /// Writes go to the fallback since this failure.
    failure: Option<Error>,
}

impl OutputDir {
    /// Files go under `asked`, or under `fallback` once `asked` fails.
    pub fn new(asked: &Path, fallback: PathBuf) -> Self {
        let state = OutputState {
            asked: asked.to_path_buf(),
            fallback,
            failure: None,
        };
        Self {
            state: Rc::new(RefCell::new(state)),
        }
    }

    /// A fallback under the temporary folder, named by `date` and the process.
    pub fn temporary_fallback(date: &str) -> PathBuf {
        std::env::temp_dir().join(format!("enginebench-{date}-{}", std::process::id()))
    }

    /// The folder writes go to now.
    pub fn root(&self) -> PathBuf {
        let state = self.state.borrow();
        match state.failure {
            None => state.asked.clone(),
            Some(_) => state.fallback.clone(),
        }
    }

    /// Where `path`, named under the folder asked for, was written: there,
    /// or at the same place under the fallback.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        let state = self.state.borrow();
        match path.strip_prefix(&state.asked) {
            Ok(rest) if state.failure.is_some() && !path.exists() => state.fallback.join(rest),
            _ => path.to_path_buf(),
        }
    }

    /// `path`, named under the folder asked for, at the same place under `root`.
    pub fn place(&self, root: &Path, path: &Path) -> PathBuf {
        let state = self.state.borrow();
        match path.strip_prefix(&state.asked) {
            Ok(rest) => root.join(rest),
            Err(_) => root.join(path.file_name().unwrap_or_default()),
        }
    }

    /// Runs `write` with the folder writes go to. When it fails to write
    /// under the folder asked for, it runs again under the fallback, which
    /// every later write then uses; a failure there too is the error.
    pub fn write<T>(&self, write: impl Fn(&Path) -> Result<T, Error>) -> Result<T, Error> {
        let (root, falling_back) = {
            let state = self.state.borrow();
            (self.root(), state.failure.is_some())
        };
        let first = match write(&root) {
            Err(Error::Unwritable {
                path,
                source,
                fallback: Fallback::None,
            }) if !falling_back => (path, source),
            other => return other,
        };
        let fallback = self.state.borrow().fallback.clone();
        match write(&fallback) {
            Ok(value) => {
                let (path, source) = first;
                self.state.borrow_mut().failure = Some(Error::Unwritable {
                    path,
                    source,
                    fallback: Fallback::KeptAt(fallback),
                });
                Ok(value)
            }
            Err(second) => {
                let (path, source) = first;
                let reason = match second {
                    Error::Unwritable { source, .. } => source,
                    other => std::io::Error::other(other.to_string()),
                };
                Err(Error::Unwritable {
                    path,
                    source,
                    fallback: Fallback::Failed {
                        path: fallback,
                        source: reason,
                    },
                })
            }
        }
    }

    /// The first write that went to the fallback, as the run's error.
    pub fn take_failure(&self) -> Option<Error> {
        let mut state = self.state.borrow_mut();
        let failure = state.failure.take()?;
        // Later writes keep going to the fallback.
        state.failure = Some(Error::Unwritable {
            path: state.asked.clone(),
            source: std::io::Error::other("fell back earlier"),
            fallback: Fallback::KeptAt(state.fallback.clone()),
        });
        Some(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Doc {
        zebra: u32,
        apple: Vec<f64>,
    }

    #[test]
    fn saves_and_loads_both_layouts_without_leaving_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let doc = Doc {
            zebra: 7,
            apple: vec![0.1, 2.5],
        };
        let pretty = dir.path().join("sub/pretty.json");
        save_atomically(&pretty, &doc, Layout::Pretty).unwrap();
        let text = std::fs::read_to_string(&pretty).unwrap();
        assert!(
            text.find("apple").unwrap() < text.find("zebra").unwrap(),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        assert_eq!(load::<Doc>(&pretty, "a doc").unwrap(), doc);
        let compact = dir.path().join("compact.json");
        save_atomically(&compact, &doc, Layout::Compact).unwrap();
        assert_eq!(
            std::fs::read_to_string(&compact).unwrap(),
            "{\"zebra\":7,\"apple\":[0.1,2.5]}\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "no .tmp left behind");
    }

    #[test]
    fn errors_name_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let e = load::<Doc>(&missing, "a doc").unwrap_err();
        assert!(matches!(e, Error::Unreadable { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())));
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"zebra\": ").unwrap();
        let e = load::<Doc>(&broken, "a doc").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: not JSON: ", broken.display())),
            "{e}"
        );
        std::fs::write(&broken, "{\"zebra\": 1}").unwrap();
        let e = load::<Doc>(&broken, "a doc").unwrap_err();
        assert!(
            e.to_string().contains("a doc: missing field `apple`"),
            "{e}"
        );
        let blocked = dir.path().join("missing.json/below.json");
        std::fs::write(dir.path().join("missing.json"), "x").unwrap();
        let e = save_atomically(&blocked, &1, Layout::Compact).unwrap_err();
        assert!(matches!(e, Error::Unwritable { .. }), "{e}");
        assert_eq!(e.exit_code(), 1);
    }
}
