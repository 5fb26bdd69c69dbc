//! A JSONL prompts file: one request per line, either
//! `{"prompt": "text"}` (needs `--tokenizer`) or `{"prompt_token_ids": [1, 2, 3]}`,
//! each with an optional `"output_len"`. Lines are used in order and repeated
//! from the top when `--num-prompts` asks for more than the file holds.

use std::path::Path;

use serde::Deserialize;

use super::tokenizer::TextTokenizer;
use super::{WorkItem, WorkloadError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    prompt: Option<String>,
    prompt_token_ids: Option<Vec<u32>>,
    output_len: Option<u32>,
}

pub fn load(
    path: &Path,
    tokenizer: Option<&Path>,
    default_output_len: u32,
    count: usize,
) -> Result<Vec<WorkItem>, WorkloadError> {
    let text = read_input(path, "prompts file")?;
    let tokenizer = tokenizer.map(TextTokenizer::load).transpose()?;
    let mut items = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = || format!("{}:{}", path.display(), number + 1);
        let parsed: Line = serde_json::from_str(line)
            .map_err(|e| WorkloadError(format!("prompts file {}: {e}", at())))?;
        let ids = match (parsed.prompt_token_ids, parsed.prompt, &tokenizer) {
            (Some(ids), None, _) => ids,
            (None, Some(text), Some(tokenizer)) => tokenizer
                .encode(&text)
                .map_err(|e| WorkloadError(format!("prompts file {}: {e}", at())))?,
            (None, Some(_), None) => {
                return Err(WorkloadError(format!(
                    "prompts file {}: text prompts need --tokenizer",
                    at()
                )))
            }
            _ => {
                return Err(WorkloadError(format!(
                    "prompts file {}: give exactly one of \"prompt\" or \"prompt_token_ids\"",
                    at()
                )))
            }
        };
        if ids.is_empty() {
            return Err(WorkloadError(format!(
                "prompts file {}: empty prompt",
                at()
            )));
        }
        let output_len = parsed.output_len.unwrap_or(default_output_len);
        if output_len == 0 {
            return Err(WorkloadError(format!(
                "prompts file {}: output_len is 0",
                at()
            )));
        }
        items.push(WorkItem::new(ids, output_len));
    }
    if items.is_empty() {
        return Err(WorkloadError(format!(
            "prompts file {} holds no prompts",
            path.display()
        )));
    }
    Ok(repeat_to(items, count))
}

/// A parsed file takes up to this many times its size: the text, the
/// parsed values, the token ids.
const MEMORY_PER_BYTE: u64 = 4;

/// Reads a whole input file, naming it in the error: refused before it is
/// read when it cannot fit in memory; a UTF-8 byte-order mark is dropped.
pub(super) fn read_input(path: &Path, what: &str) -> Result<String, WorkloadError> {
    crate::process::memory::read_text(path, MEMORY_PER_BYTE)
        .map_err(|e| WorkloadError(format!("cannot read {what} {}: {e}", path.display())))
}

/// Cycles `items` in order until there are `count` of them.
pub(super) fn repeat_to(items: Vec<WorkItem>, count: usize) -> Vec<WorkItem> {
    items.iter().cycle().take(count).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn token_id_lines_with_and_without_output_len() {
        let f = file(
            "{\"prompt_token_ids\": [5, 6, 7], \"output_len\": 4}\n\n{\"prompt_token_ids\": [8]}\n",
        );
        let items = load(f.path(), None, 9, 3).unwrap();
        assert_eq!(items[0], WorkItem::new(vec![5, 6, 7], 4));
        assert_eq!(items[1], WorkItem::new(vec![8], 9));
        assert_eq!(items[2], items[0], "repeats from the top");
    }

    #[test]
    fn errors_name_the_line() {
        let f = file("{\"prompt_token_ids\": [1]}\nnot json\n");
        let err = load(f.path(), None, 9, 1).unwrap_err();
        assert!(err.0.contains(":2:"), "{err}");
    }

    #[test]
    fn text_without_tokenizer_is_refused() {
        let f = file("{\"prompt\": \"hello\"}\n");
        let err = load(f.path(), None, 9, 1).unwrap_err();
        assert!(err.0.contains("--tokenizer"), "{err}");
    }
}
