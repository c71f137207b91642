//! Server-sent events framing (the WHATWG `text/event-stream` format).
//!
//! llmax first used the `eventsource-stream` crate. Measured in the
//! benchmark suite (see README, Performance), it was most of llmax's cost
//! per streamed chunk: a parser-combinator scan per line, a copy of the rest
//! of the buffer after every line (quadratic in the events of one read),
//! a rescan of incomplete lines on every read, and several strings allocated
//! per event. This framer does the same job in one pass over each byte,
//! with one reusable buffer for the data of an event and no allocation per
//! event, and bounds what a peer can make it hold.
//!
//! What it implements: lines end with LF, CRLF or CR (a CR at the end of a
//! read waits for the next byte); `data:` lines are joined with LF; `event:`
//! sets the type; a blank line dispatches an event that has data; lines
//! starting with `:` are comments; one space after the colon is dropped; a
//! leading byte-order mark is skipped; `id` and `retry` are ignored (llmax
//! never reconnects a stream). An event still open when the body ends is
//! dispatched if its last line was complete: some servers omit the final
//! blank line.

/// An error of the framing itself.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SseError {
    /// A line longer than the limit (a peer that never ends its line).
    LineTooLong(usize),
    /// An event's data longer than the limit.
    EventTooLarge(usize),
    /// An event's data or type that is not UTF-8.
    NotUtf8,
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::LineTooLong(limit) => write!(f, "an SSE line exceeds {limit} bytes"),
            SseError::EventTooLarge(limit) => write!(f, "an SSE event exceeds {limit} bytes"),
            SseError::NotUtf8 => f.write_str("an SSE event is not UTF-8"),
        }
    }
}

/// Incremental SSE framer: feed it bytes, take events out.
#[derive(Debug)]
pub(crate) struct Framer {
    /// Bytes received and not yet consumed, from `start`.
    buffer: Vec<u8>,
    start: usize,
    /// How many bytes from `start` are known to hold no line end.
    searched: usize,
    /// The event being built.
    data: Vec<u8>,
    has_data: bool,
    kind: Vec<u8>,
    /// The event handed out last is still borrowed from `data` and `kind`:
    /// they are cleared when the next one starts.
    dispatched: bool,
    at_start: bool,
    max_line: usize,
    max_event: usize,
}

impl Framer {
    pub fn new(max_line: usize, max_event: usize) -> Framer {
        Framer {
            buffer: Vec::new(),
            start: 0,
            searched: 0,
            data: Vec::new(),
            has_data: false,
            kind: Vec::new(),
            dispatched: false,
            at_start: true,
            max_line,
            max_event,
        }
    }

    /// Adds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        // Drop what was consumed before growing, so the buffer holds at most
        // one partial line plus one read.
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event as `(type, data)`, if the bytes fed so far
    /// hold one. With `end`, the body is over: a CR at the very end counts
    /// as a line end and an open event is dispatched.
    pub fn next(&mut self, end: bool) -> Result<Option<(&str, &str)>, SseError> {
        if !self.advance(end)? {
            return Ok(None);
        }
        // Checked in `dispatch`: both are UTF-8.
        let data = std::str::from_utf8(&self.data).unwrap_or_default();
        let kind = std::str::from_utf8(&self.kind).unwrap_or_default();
        Ok(Some((if kind.is_empty() { "message" } else { kind }, data)))
    }

    /// Reads lines until an event is complete (`true`) or more bytes are
    /// needed (`false`).
    fn advance(&mut self, end: bool) -> Result<bool, SseError> {
        if self.dispatched {
            self.dispatched = false;
            self.data.clear();
            self.kind.clear();
        }
        loop {
            if self.at_start {
                const BOM: &[u8] = "\u{feff}".as_bytes();
                let pending = &self.buffer[self.start..];
                if pending.len() < BOM.len() && BOM.starts_with(pending) && !end {
                    return Ok(false);
                }
                if pending.starts_with(BOM) {
                    self.start += BOM.len();
                }
                self.at_start = false;
            }
            let pending = &self.buffer[self.start..];
            // Bytes already searched hold no line end: a long line arriving
            // in many reads is scanned once, not once per read.
            let found = memchr::memchr2(b'\n', b'\r', &pending[self.searched..]);
            let Some(at) = found.map(|at| at + self.searched) else {
                self.searched = pending.len();
                if pending.len() > self.max_line {
                    return Err(SseError::LineTooLong(self.max_line));
                }
                if end {
                    // A last line without its end was cut off: dropped, as
                    // the format says; complete lines still count.
                    self.start = self.buffer.len();
                    self.searched = 0;
                    return self.dispatch();
                }
                return Ok(false);
            };
            let terminator = match (pending[at], pending.get(at + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A CR at the end of a read: its LF may be in the next one.
                (b'\r', None) if !end => {
                    self.searched = at;
                    return Ok(false);
                }
                _ => 1,
            };
            self.searched = 0;
            let line_start = self.start;
            self.start += at + terminator;
            if at == 0 {
                if self.dispatch()? {
                    return Ok(true);
                }
                continue;
            }
            // Split borrows: the line lives in `buffer`, the event elsewhere.
            let line = &self.buffer[line_start..line_start + at];
            Self::field(line, &mut self.data, &mut self.has_data, &mut self.kind);
            if self.data.len() > self.max_event {
                return Err(SseError::EventTooLarge(self.max_event));
            }
        }
    }

    fn field(line: &[u8], data: &mut Vec<u8>, has_data: &mut bool, kind: &mut Vec<u8>) {
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if *has_data {
                    data.push(b'\n');
                }
                data.extend_from_slice(value);
                *has_data = true;
            }
            b"event" => {
                kind.clear();
                kind.extend_from_slice(value);
            }
            _ => {}
        }
    }

    /// Ends the event being built: whether it has data to hand out.
    fn dispatch(&mut self) -> Result<bool, SseError> {
        if !self.has_data {
            self.kind.clear();
            return Ok(false);
        }
        self.has_data = false;
        self.dispatched = true;
        if std::str::from_utf8(&self.data).is_err() || std::str::from_utf8(&self.kind).is_err() {
            return Err(SseError::NotUtf8);
        }
        Ok(true)
    }

    /// The bytes of the line being received (for error messages).
    pub fn pending(&self) -> &[u8] {
        &self.buffer[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Result<Vec<(String, String)>, SseError> {
        let mut framer = Framer::new(1 << 20, 1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed(chunk);
            while let Some((kind, data)) = framer.next(false)? {
                out.push((kind.to_owned(), data.to_owned()));
            }
        }
        while let Some((kind, data)) = framer.next(true)? {
            out.push((kind.to_owned(), data.to_owned()));
        }
        Ok(out)
    }

    fn pair(kind: &str, data: &str) -> (String, String) {
        (kind.to_owned(), data.to_owned())
    }

    #[test]
    fn every_line_ending_and_split() {
        let body =
            b"\xef\xbb\xbf: hi\r\nevent: a\r\ndata: 1\r\ndata:2\r\r\n\ndata: x\n\ndata: y\r\r";
        let whole = events(&[body]).unwrap();
        assert_eq!(
            whole,
            [
                pair("a", "1\n2"),
                pair("message", "x"),
                pair("message", "y")
            ]
        );
        for at in 0..body.len() {
            let (a, b) = body.split_at(at);
            assert_eq!(events(&[a, b]).unwrap(), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(events(&bytes).unwrap(), whole);
    }

    #[test]
    fn fields_and_comments() {
        let body =
            b"id: 1\nretry: 5\nfoo\ndata\n\n: only a comment\n\nevent: e\n\ndata:  two spaces\n\n";
        assert_eq!(
            events(&[body]).unwrap(),
            [pair("message", ""), pair("message", " two spaces")]
        );
    }

    #[test]
    fn open_event_at_the_end_is_dispatched() {
        assert_eq!(
            events(&[b"data: [DONE]\n"]).unwrap(),
            [pair("message", "[DONE]")]
        );
        // A line cut off is not an event.
        assert_eq!(
            events(&[b"data: 1\n\ndata: {\"cut"]).unwrap(),
            [pair("message", "1")]
        );
    }

    #[test]
    fn limits_and_utf8() {
        let mut framer = Framer::new(8, 16);
        framer.feed(b"data: 123456");
        assert_eq!(framer.next(false), Err(SseError::LineTooLong(8)));
        let mut framer = Framer::new(64, 16);
        framer.feed(b"data: 0123456789\ndata: 0123456789\n");
        assert_eq!(framer.next(false), Err(SseError::EventTooLarge(16)));
        let mut framer = Framer::new(64, 64);
        framer.feed(b"data: \xff\xfe\n\n");
        assert_eq!(framer.next(false), Err(SseError::NotUtf8));
        // A character split across reads is whole in the event.
        assert_eq!(
            events(&[b"data: \xc3", b"\xa9\n\n"]).unwrap(),
            [pair("message", "\u{e9}")]
        );
    }
}
