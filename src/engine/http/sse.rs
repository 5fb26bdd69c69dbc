//! Server-sent events, cut into `data` payloads.

/// Server-sent events, cut into `data` payloads. Only `data` lines matter to
/// these protocols; comments and other fields are skipped. Hand-written: the
/// format is a few lines of spec and the crates for it add an async stack of
/// their own.
#[derive(Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; appends every completed event's data to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out)?;
                self.line = line; // reuse the allocation
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
        Ok(())
    }

    /// At the end of the body: an event without its closing blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
        }
        out.extend(self.data.take());
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            out.extend(self.data.take());
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| "malformed event: not UTF-8")?;
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<String> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk.as_bytes(), &mut out).unwrap();
        }
        parser.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn sse_events_split_anywhere() {
        assert_eq!(
            events(&["data: {\"a\"", ":1}\n\n: comment\n\ndata: [DONE]\r\n\r\n"]),
            vec!["{\"a\":1}", "[DONE]"]
        );
        assert_eq!(events(&["data: x\ndata: y\n\n"]), vec!["x\ny"]);
        assert_eq!(events(&["event: a\nid: 3\n\n"]), Vec::<String>::new());
        // The last event may lack its blank line when the body ends.
        assert_eq!(events(&["data: last"]), vec!["last"]);
    }
}
