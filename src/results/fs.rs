//! Reading and writing the JSON files of results, as criterion's `fs.rs`
//! does: typed, and every error names the file. Writes go to a temporary
//! file renamed over the old one, so a reader never sees half a file and a
//! failed write leaves the previous version in place.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// How a JSON file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Indented, keys in alphabetical order: files people open and diff.
    Pretty,
    /// One line, fields in declaration order: long arrays of samples.
    Compact,
}

/// The JSON in `path`, untyped, for files whose kind is checked before they
/// are read as one (a format number, a key that marks them).
pub fn load_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
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

/// Writes `value` as JSON (and a final newline) to `path`, creating its folder.
pub fn save_atomically<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    layout: Layout,
) -> Result<(), Error> {
    let text = match layout {
        // Through a `Value`, whose maps keep their keys sorted.
        Layout::Pretty => {
            serde_json::to_value(value).and_then(|v| serde_json::to_string_pretty(&v))
        }
        Layout::Compact => serde_json::to_string(value),
    };
    let text = text.map_err(|e| Error::unwritable(path, std::io::Error::other(e)))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::unwritable(dir, e))?;
    }
    write_atomically(path, |out| {
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")
    })
}

/// Writes to `path.tmp` through `fill`, then renames it over `path`.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        fill(&mut out)?;
        out.flush()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::unwritable(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::unwritable(path, e))
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::unwritable(dir, e))
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
