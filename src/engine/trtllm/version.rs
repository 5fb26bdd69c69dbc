//! Which TensorRT-LLM releases have the C++ executor this engine drives.
//!
//! The `Executor` for prebuilt TensorRT engines exists through 1.3.0rc20;
//! upstream then removed it, with `executorWorker` and the plugin library
//! (NVIDIA/TensorRT-LLM#16369), and later releases run only the PyTorch
//! backend. The bridge is written against the 1.2 declarations, which 1.3 keeps.
//!
//! Plain std only: `build.rs` includes this file to refuse a wrong install
//! before compiling anything, and `enginebench doctor` uses it too.

/// What this engine makes of one TensorRT-LLM version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// 1.2.x or 1.3.0rc1..rc20.
    Supported,
    /// Later than 1.3.0rc20: the C++ executor no longer exists there.
    Removed,
    /// Before 1.2: the executor's declarations differ from what the bridge uses.
    TooOld,
    /// The test double of the executor API.
    TestDouble,
    /// Not a version string this understands.
    Unknown,
}

/// The last release candidate with the engine `Executor`.
pub const LAST_RC_WITH_EXECUTOR: u32 = 20;

/// `1.2.0`, `1.2.0.post1`, `1.3.0rc20`, `1.3.0rc5+local`, `1.4.0.dev2026`.
pub fn classify(version: &str) -> Support {
    let version = version.trim();
    if version.contains("test-double") || version.contains("testdouble") {
        return Support::TestDouble;
    }
    let public = version.split('+').next().unwrap_or_default();
    let mut parts = public.splitn(3, '.');
    let number = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
    let (Some(major), Some(minor)) = (number(parts.next()), number(parts.next())) else {
        return Support::Unknown;
    };
    let rest = parts.next().unwrap_or("0");
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(patch) = digits.parse::<u32>() else {
        return Support::Unknown;
    };
    let suffix = &rest[digits.len()..];
    let rc = suffix
        .strip_prefix("rc")
        .map(|n| {
            n.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|n| n.parse::<u32>().ok());
    let dev = suffix.contains("dev");
    match (major, minor) {
        (0, _) | (1, 0..=1) => Support::TooOld,
        (1, 2) => Support::Supported,
        (1, 3) if patch == 0 && !dev && rc.is_some_and(|rc| rc <= LAST_RC_WITH_EXECUTOR) => {
            Support::Supported
        }
        _ => Support::Removed,
    }
}

/// One line on what to do with an install of `version`; `None` when it is supported.
pub fn problem(version: &str) -> Option<String> {
    match classify(version) {
        Support::Supported | Support::TestDouble => None,
        Support::Removed => Some(format!(
            "TensorRT-LLM {version} has no C++ executor for TensorRT engines (upstream removed it \
             after 1.3.0rc{LAST_RC_WITH_EXECUTOR}, with executorWorker and the plugin library): \
             use --engine trtllm-pytorch, or install TensorRT-LLM 1.2.x"
        )),
        Support::TooOld => Some(format!(
            "TensorRT-LLM {version} is older than 1.2, whose executor declarations this engine \
             is written against: install 1.2.x (or 1.3.0rc1..rc{LAST_RC_WITH_EXECUTOR})"
        )),
        Support::Unknown => Some(format!(
            "cannot read the TensorRT-LLM version '{version}' (expected e.g. 1.2.0 or 1.3.0rc5)"
        )),
    }
}

/// `__version__ = "1.2.0"` in the package's `version.py`.
pub fn from_version_py(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == "__version__").then(|| {
            value
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_plus_plus_executor_exists_from_1_2_through_1_3_0rc20() {
        for supported in [
            "1.2.0",
            "1.2.0rc3",
            "1.2.1.post1",
            "1.3.0rc1",
            "1.3.0rc20",
            "1.3.0rc9+cu13",
        ] {
            assert_eq!(classify(supported), Support::Supported, "{supported}");
            assert_eq!(problem(supported), None);
        }
        for removed in [
            "1.3.0rc21",
            "1.3.0",
            "1.3.1",
            "1.4.0",
            "1.4.0rc0",
            "2.0.0",
            "1.3.0.dev2026060100",
        ] {
            assert_eq!(classify(removed), Support::Removed, "{removed}");
            let line = problem(removed).unwrap();
            assert!(line.contains("no C++ executor"), "{line}");
            assert!(line.contains("trtllm-pytorch"), "{line}");
            assert!(!line.contains('\n'));
        }
        for old in ["1.1.0", "1.0.0rc4", "0.21.0"] {
            assert_eq!(classify(old), Support::TooOld, "{old}");
        }
        assert_eq!(classify("1.2.0+testdouble"), Support::TestDouble);
        assert_eq!(classify("test-double"), Support::TestDouble);
        assert_eq!(classify("banana"), Support::Unknown);
    }

    #[test]
    fn version_py_is_read_like_the_package_writes_it() {
        assert_eq!(
            from_version_py("# generated\n__version__ = \"1.2.0rc2\"\n").as_deref(),
            Some("1.2.0rc2")
        );
        assert_eq!(
            from_version_py("__version__='1.3.0rc20'").as_deref(),
            Some("1.3.0rc20")
        );
        assert_eq!(from_version_py("version = 3"), None);
    }
}
