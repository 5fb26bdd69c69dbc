//! Server-sent events (the WHATWG `text/event-stream` format), cut into the
//! `data` payload of each event. Only `data` matters to these protocols:
//! comments and the other fields (`event`, `id`, `retry`) are read and
//! dropped. Hand-written: the format is a page of spec, and the crates for it
//! bring an async stack of their own and bound nothing.
//!
//! Bounded: the event being assembled (the data of its lines so far plus the
//! line in progress) never holds more than `max_event_bytes`, in one buffer
//! that never grows past it; the byte that would exceed it fails the stream
//! with a reason naming the bound and what was seen. Each byte is scanned
//! once, so an endless line costs time linear in what was read until the
//! bound stops it.
//!
//! Lines end in LF, CRLF or a lone CR, as the spec says; a byte-order mark
//! may open the stream. One leniency, on purpose: an event that the end of
//! the body cuts before its blank line still counts.

/// The default of `--engine-arg max_event_bytes`.
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

/// After an event this large, its buffer is released rather than kept for the
/// next one, so that one big event does not pin memory for the stream's life.
const KEEP_CAPACITY: usize = 64 << 10;

const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) struct SseParser {
    /// The current event's data (the values of its `data` lines joined by
    /// LF) in `[..data_len]`, then the raw bytes of the line in progress.
    buf: Vec<u8>,
    data_len: usize,
    /// The current event has had a `data` line (an empty one counts).
    has_data: bool,
    /// Data lines of the current event, for the overflow reason.
    data_lines: usize,
    /// The last push ended in CR: a LF first in the next one belongs to it.
    after_cr: bool,
    /// No line has ended yet (a byte-order mark may open the stream).
    first_line: bool,
    max_event_bytes: usize,
}

impl SseParser {
    /// `max_event_bytes` is at least 1.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            data_len: 0,
            has_data: false,
            data_lines: 0,
            after_cr: false,
            first_line: true,
            max_event_bytes: max_event_bytes.max(1),
        }
    }

    /// Feeds bytes; appends every completed event's data to `out`.
    /// After an error the stream is unusable and the caller drops it.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        let mut rest = bytes;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            self.append(&rest[..end])?;
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            self.line_done(out)?;
        }
        self.append(rest)
    }

    /// At the end of the body: an event without its closing blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        if self.buf.len() > self.data_len {
            self.line_done(out)?;
        }
        self.dispatch(out)
    }

    /// Bytes held for the event in progress; never above `max_event_bytes`.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the event in progress; never above `max_event_bytes`.
    #[cfg(test)]
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Adds part of the line in progress, within the bound.
    fn append(&mut self, piece: &[u8]) -> Result<(), String> {
        let needed = self.buf.len() + piece.len();
        if needed > self.max_event_bytes {
            return Err(self.overflow(piece));
        }
        if needed > self.buf.capacity() {
            // Doubling keeps appends amortized O(1); the cap keeps the
            // allocation within the bound.
            let target = needed
                .max(2 * self.buf.capacity())
                .max(256)
                .min(self.max_event_bytes);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(piece);
        Ok(())
    }

    /// One line has ended (its bytes are `buf[data_len..]`).
    fn line_done(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        let start = self.data_len;
        if std::mem::take(&mut self.first_line) && self.buf[start..].starts_with(BOM) {
            self.buf.drain(start..start + BOM.len());
        }
        let line = &self.buf[start..];
        if line.is_empty() {
            return self.dispatch(out);
        }
        // A line starting with a colon is a comment; a line without one is a
        // field with an empty value; one space after the colon is not part of it.
        let colon = memchr::memchr(b':', line);
        if colon != Some(0) {
            let field_end = colon.unwrap_or(line.len());
            if &line[..field_end] == b"data" {
                let mut value = colon.map_or(line.len(), |c| c + 1);
                if line.get(value) == Some(&b' ') {
                    value += 1;
                }
                let value = start + value..self.buf.len();
                // The separator and the value move left, over the field name.
                let mut at = start;
                if self.has_data {
                    self.buf[at] = b'\n';
                    at += 1;
                }
                let len = value.len();
                self.buf.copy_within(value, at);
                self.data_len = at + len;
                self.has_data = true;
                self.data_lines += 1;
            }
        }
        self.buf.truncate(self.data_len);
        Ok(())
    }

    /// The blank line (or the end of the body): the event's data, if it had any.
    fn dispatch(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        let data = &self.buf[..self.data_len];
        if self.has_data {
            let text = std::str::from_utf8(data).map_err(|e| {
                format!(
                    "malformed event: not UTF-8 ({e}), starting \"{}\"",
                    lossy_excerpt(data)
                )
            })?;
            out.push(text.to_string());
        }
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
        self.data_len = 0;
        self.has_data = false;
        self.data_lines = 0;
        Ok(())
    }

    fn overflow(&self, piece: &[u8]) -> String {
        let seen = self.buf.len() + piece.len();
        let what = match self.data_lines {
            0 => format!("{seen} bytes of one line and no line end yet"),
            n => format!("{seen} bytes of one event ({n} data lines) and no blank line yet"),
        };
        // One byte more than is shown, so that the excerpt says it goes on.
        let mut start = self.buf[..self.buf.len().min(EXCERPT_BYTES + 1)].to_vec();
        start.extend(piece.iter().take(EXCERPT_BYTES + 1 - start.len()));
        format!(
            "event over max_event_bytes={}: {what}, starting \"{}\"",
            self.max_event_bytes,
            lossy_excerpt(&start)
        )
    }
}

const EXCERPT_BYTES: usize = 40;

/// The first bytes of `bytes` as text, for reasons.
fn lossy_excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    let mut text = String::from_utf8_lossy(cut).escape_debug().to_string();
    if cut.len() < bytes.len() {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<String> {
        let mut parser = SseParser::new(DEFAULT_MAX_EVENT_BYTES);
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

    #[test]
    fn line_ends_fields_and_the_byte_order_mark_follow_the_spec() {
        // CR alone ends a line, also when its LF-less pair spans two pushes.
        assert_eq!(events(&["data: a\r\rdata: b\r", "\n\r\n"]), vec!["a", "b"]);
        assert_eq!(events(&["data: a\r", "\r"]), vec!["a"]);
        // No colon: a field with an empty value; no space: the value starts at once.
        assert_eq!(events(&["data\ndata:x\n\n"]), vec!["\nx"]);
        // An empty data line still makes an event; other fields do not.
        assert_eq!(events(&["data:\n\nretry: 5\n\n"]), vec![""]);
        assert_eq!(events(&["\u{feff}data: 1\n\n"]), vec!["1"]);
        // Only the stream's first line may carry one.
        assert_eq!(events(&["data: 1\n\n\u{feff}data: 2\n\n"]), vec!["1"]);
    }

    #[test]
    fn an_endless_line_fails_at_the_bound_with_what_was_seen() {
        let mut parser = SseParser::new(1000);
        let mut out = Vec::new();
        parser.push(b"data: ", &mut out).unwrap();
        let chunk = [b'x'; 100];
        let mut fed = 6;
        let error = loop {
            match parser.push(&chunk, &mut out) {
                Ok(()) => fed += chunk.len(),
                Err(e) => break e,
            }
            assert!(parser.buffered() <= 1000 && parser.allocated() <= 1000);
        };
        assert_eq!(fed, 906, "fails on the chunk that crosses the bound");
        assert_eq!(
            error,
            "event over max_event_bytes=1000: 1006 bytes of one line and no line end yet, \
             starting \"data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""
        );
        assert!(out.is_empty());
    }

    #[test]
    fn many_data_lines_count_toward_the_bound_of_their_event() {
        let mut parser = SseParser::new(64);
        let mut out = Vec::new();
        let error = (0..100)
            .find_map(|_| parser.push(b"data: 0123456789\n", &mut out).err())
            .unwrap();
        assert!(
            error
                .starts_with("event over max_event_bytes=64: 70 bytes of one event (5 data lines)"),
            "{error}"
        );
        // Events within the bound pass, however many.
        let mut parser = SseParser::new(64);
        for _ in 0..1000 {
            parser
                .push(b"data: 0123456789\n\n: ping\n", &mut out)
                .unwrap();
        }
        assert_eq!(out.len(), 1000);
    }

    #[test]
    fn invalid_utf8_in_data_is_a_malformed_event() {
        let mut parser = SseParser::new(100);
        let mut out = Vec::new();
        // In a comment it does not matter.
        parser.push(b": \xff\n\n", &mut out).unwrap();
        let error = parser.push(b"data: \xff\xfe\n\n", &mut out).unwrap_err();
        assert!(error.starts_with("malformed event: not UTF-8"), "{error}");
    }

    /// Property tests: arbitrary, mutated, structured and unbounded inputs,
    /// each cut into chunks anywhere.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Cases per property: 4 properties, 16k cases, a few seconds.
        const CASES: u32 = 4096;

        /// The parser's view of a whole input: the events it emitted, and
        /// whether it stopped with an error.
        fn run(input: &[u8], cuts: &[usize], max: usize) -> (Vec<String>, bool) {
            let mut parser = SseParser::new(max);
            let mut out = Vec::new();
            let mut at = 0;
            for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
                let end = cut.clamp(at, input.len());
                let pushed = parser.push(&input[at..end], &mut out);
                assert!(parser.buffered() <= max, "{} > {max}", parser.buffered());
                assert!(parser.allocated() <= max, "{} > {max}", parser.allocated());
                if pushed.is_err() {
                    return (out, true);
                }
                at = end;
            }
            let finished = parser.finish(&mut out);
            (out, finished.is_err())
        }

        /// The spec read literally over the whole input, with no bound.
        fn reference(input: &[u8]) -> (Vec<String>, bool) {
            let input = input.strip_prefix(BOM).unwrap_or(input);
            let mut lines = Vec::new();
            let mut line = Vec::new();
            let mut i = 0;
            while i < input.len() {
                match input[i] {
                    b'\r' | b'\n' => {
                        if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
                            i += 1;
                        }
                        lines.push(std::mem::take(&mut line));
                    }
                    b => line.push(b),
                }
                i += 1;
            }
            if !line.is_empty() {
                lines.push(line);
            }
            let mut events = Vec::new();
            let mut data: Option<Vec<u8>> = None;
            let dispatch = |data: &mut Option<Vec<u8>>, events: &mut Vec<String>| match data.take()
            {
                None => true,
                Some(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        events.push(text);
                        true
                    }
                    Err(_) => false,
                },
            };
            for line in lines {
                if line.is_empty() {
                    if !dispatch(&mut data, &mut events) {
                        return (events, true);
                    }
                    continue;
                }
                if line[0] == b':' {
                    continue;
                }
                let (field, value) = match line.iter().position(|&b| b == b':') {
                    Some(c) => {
                        let value = &line[c + 1..];
                        (&line[..c], value.strip_prefix(b" ").unwrap_or(value))
                    }
                    None => (&line[..], &[][..]),
                };
                if field == b"data" {
                    match &mut data {
                        Some(buffer) => {
                            buffer.push(b'\n');
                            buffer.extend_from_slice(value);
                        }
                        None => data = Some(value.to_vec()),
                    }
                }
            }
            let failed = !dispatch(&mut data, &mut events);
            (events, failed)
        }

        /// Pieces that SSE is made of, and some that break it.
        const PIECES: &[&[u8]] = &[
            b"data: ",
            b"data:",
            b"data",
            b": keep-alive",
            b":",
            b"event: message",
            b"id: 7",
            b" ",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            BOM,
            b"[DONE]",
            b"{\"choices\":[{\"text\":\"hi\"}]}",
            "é€😀".as_bytes(),
            b"\xff\xc3",
            b"\0",
        ];

        fn piece() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::sample::select(PIECES).prop_map(<[u8]>::to_vec),
                prop::collection::vec(any::<u8>(), 0..8),
                prop::collection::vec(Just(b'x'), 0..300),
            ]
        }

        fn structured() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(piece(), 0..60).prop_map(|pieces| pieces.concat())
        }

        /// A structured input with a few bytes overwritten, dropped or repeated.
        fn mutated() -> impl Strategy<Value = Vec<u8>> {
            (
                structured(),
                prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 0..6),
            )
                .prop_map(|(mut input, edits)| {
                    for (at, byte, how) in edits {
                        if input.is_empty() {
                            input.push(byte);
                            continue;
                        }
                        let at = at % input.len();
                        match how {
                            0 => input[at] = byte,
                            1 => {
                                input.remove(at);
                            }
                            _ => {
                                let copy: Vec<u8> = input[at..].iter().take(16).copied().collect();
                                input.splice(at..at, copy);
                            }
                        }
                    }
                    input
                })
        }

        fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
            prop::collection::vec(0..=len, 0..12).prop_map(|mut cuts| {
                cuts.sort_unstable();
                cuts
            })
        }

        fn input_and_cuts(
            input: impl Strategy<Value = Vec<u8>>,
        ) -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
            input.prop_flat_map(|input| {
                let len = input.len();
                (Just(input), cuts(len))
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

            /// Arbitrary bytes, arbitrary bound: no panic, never more than the bound held.
            #[test]
            fn arbitrary_bytes_never_panic_nor_exceed_the_bound(
                (input, cuts) in input_and_cuts(prop::collection::vec(any::<u8>(), 0..2048)),
                max in 1usize..600,
            ) {
                run(&input, &cuts, max);
            }

            /// With room for everything, the parser is the spec: any chunking
            /// of structured or mutated input gives the reference's events.
            #[test]
            fn any_chunking_gives_the_specs_events(
                (input, cuts) in input_and_cuts(prop_oneof![structured(), mutated()]),
            ) {
                prop_assert_eq!(run(&input, &cuts, usize::MAX / 2), reference(&input));
            }

            /// Under a small bound the same input either gives the same events
            /// or stops with an error after a prefix of them, whatever the chunking.
            #[test]
            fn a_bound_cuts_the_events_short_never_changes_them(
                (input, cuts) in input_and_cuts(prop_oneof![structured(), mutated()]),
                max in 1usize..400,
            ) {
                let (events, failed) = run(&input, &cuts, max);
                let (whole, whole_failed) = run(&input, &[], max);
                prop_assert_eq!(&events, &whole, "chunking changed the events");
                prop_assert_eq!(failed, whole_failed);
                let (expected, _) = reference(&input);
                prop_assert!(expected.starts_with(&events));
            }

            /// An endless input (a pattern repeated without end, in chunks of
            /// any size): memory stays within the bound, and a pattern with
            /// no line end fails within the bound plus one chunk.
            #[test]
            fn unbounded_input_stays_bounded(
                pattern in prop_oneof![structured(), prop::collection::vec(any::<u8>(), 1..64)],
                chunk in 1usize..5000,
                max in 1usize..20_000,
            ) {
                prop_assume!(!pattern.is_empty());
                let mut parser = SseParser::new(max);
                let mut out = Vec::new();
                let budget = 4 * (max + chunk + pattern.len());
                let (mut fed, mut failed) = (0usize, false);
                while fed < budget {
                    let piece: Vec<u8> =
                        (fed..fed + chunk).map(|i| pattern[i % pattern.len()]).collect();
                    if parser.push(&piece, &mut out).is_err() {
                        failed = true;
                        break;
                    }
                    fed += chunk;
                    prop_assert!(parser.buffered() <= max && parser.allocated() <= max);
                    out.clear();
                }
                let has_line_end = pattern.iter().any(|&b| b == b'\n' || b == b'\r');
                if !has_line_end {
                    prop_assert!(failed, "an endless line was never stopped");
                    prop_assert!(fed <= max, "fed {} bytes past a bound of {}", fed, max);
                }
            }
        }
    }
}
