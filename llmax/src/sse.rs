//! Server-sent events framing (the WHATWG `text/event-stream` format).
//!
//! llmax first used the `eventsource-stream` crate. Measured in the
//! benchmark suite (see README, Performance), it was most of llmax's cost
//! per streamed chunk: a parser-combinator scan per line, a copy of the rest
//! of the buffer after every line (quadratic in the events of one read),
//! a rescan of incomplete lines on every read, and several strings allocated
//! per event. A first framer of our own did the job in one pass with no
//! allocation per event, but still copied every byte twice (the read into a
//! buffer, the `data` value into the event), which cachegrind showed as most
//! of the L1 data-cache write misses of a stream (20 a chunk, against 3 for
//! a hand-written reqwest client): with many streams in flight those copies
//! push each other out of the cache.
//!
//! So events are now framed in place: an event that lies whole inside one
//! read (nearly all of them, as providers send an HTTP chunk per event) is
//! handed out as slices of that read, with no copy. Only an event cut by the
//! end of a read goes through the buffered path, which carries the lines
//! over to the next read, with one reusable buffer for the joined data of an
//! event and bounds on what a peer can make it hold.
//!
//! What it implements: lines end with LF, CRLF or CR (a CR at the end of a
//! read waits for the next byte); `data:` lines are joined with LF; `event:`
//! sets the type; a blank line dispatches an event that has data; lines
//! starting with `:` are comments; one space after the colon is dropped; a
//! leading byte-order mark is skipped; `id` and `retry` are ignored (llmax
//! never reconnects a stream). An event still open when the body ends is
//! dispatched if its last line was complete: some servers omit the final
//! blank line.

use bytes::Bytes;

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

/// Where the data of an event framed in place is.
#[derive(Clone, Copy)]
enum Data {
    /// No `data` line yet.
    None,
    /// One `data` line: this range of the read.
    At(usize, usize),
    /// Several: joined in `Framer::data`.
    Joined,
}

/// Incremental SSE framer: feed it reads, take events out.
#[derive(Debug)]
pub(crate) struct Framer {
    /// The last read, framed in place from `at`.
    read: Bytes,
    at: usize,
    /// Buffered path: bytes carried over from earlier reads, from `start`.
    buffer: Vec<u8>,
    start: usize,
    /// How many bytes from `start` are known to hold no line end.
    searched: usize,
    /// The event being built (buffered path), or the joined data of an
    /// event of several `data` lines.
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
            read: Bytes::new(),
            at: 0,
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

    /// Adds a read. The events of the previous one should have been taken
    /// out first; if not, its rest is carried over.
    pub fn feed(&mut self, read: Bytes) {
        if self.at < self.read.len() {
            self.carry_over();
        }
        self.read = read;
        self.at = 0;
    }

    /// The next complete event as `(type, data)`, if the reads fed so far
    /// hold one. With `end`, the body is over: a CR at the very end counts
    /// as a line end and an open event is dispatched.
    pub fn next(&mut self, end: bool) -> Result<Option<(&str, &str)>, SseError> {
        if self.dispatched {
            self.dispatched = false;
            self.data.clear();
            self.kind.clear();
        }
        let buffered = self.start < self.buffer.len()
            || self.has_data
            || !self.kind.is_empty()
            || self.at_start;
        if !buffered {
            if self.at == self.read.len() {
                self.release();
                if !end {
                    return Ok(None);
                }
            }
            match self.in_place(end)? {
                InPlace::Event(data, kind) => return self.event_in_place(data, kind).map(Some),
                InPlace::Cut => {}
            }
        }
        self.carry_over();
        if !self.advance(end)? {
            return Ok(None);
        }
        // Checked in `dispatch`: both are UTF-8.
        let data = std::str::from_utf8(&self.data).unwrap_or_default();
        let kind = std::str::from_utf8(&self.kind).unwrap_or_default();
        Ok(Some((if kind.is_empty() { "message" } else { kind }, data)))
    }

    /// Frames the next event of the read where it lies. An event cut by
    /// the end of the read is left from its first line for the buffered
    /// path (`at` points at it).
    fn in_place(&mut self, end: bool) -> Result<InPlace, SseError> {
        let read = &self.read[..];
        let mut at = self.at;
        let mut data = Data::None;
        let mut kind: Option<(usize, usize)> = None;
        loop {
            let rest = &read[at..];
            // The blank line that ends an event, without a search.
            let found = match rest.first() {
                Some(b'\n' | b'\r') => Some(0),
                _ => memchr::memchr2(b'\n', b'\r', rest),
            };
            let Some(found) = found else {
                break;
            };
            let terminator = match (rest[found], rest.get(found + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A CR at the end of a read: its LF may be in the next one.
                (b'\r', None) if !end => break,
                _ => 1,
            };
            let line = at..at + found;
            at += found + terminator;
            if found == 0 {
                if let Data::None = data {
                    // An event without data is no event: the next starts.
                    self.at = at;
                    kind = None;
                    continue;
                }
                self.at = at;
                return Ok(InPlace::Event(data, kind));
            }
            let (name, value) = split_field(&read[line.clone()]);
            // `value` is a suffix of the line.
            let value = line.end - value.len()..line.end;
            match name {
                b"data" => {
                    data = match data {
                        Data::None => Data::At(value.start, value.end),
                        Data::At(first, last) => {
                            self.data.clear();
                            self.data.extend_from_slice(&read[first..last]);
                            self.data.push(b'\n');
                            self.data.extend_from_slice(&read[value]);
                            Data::Joined
                        }
                        Data::Joined => {
                            self.data.push(b'\n');
                            self.data.extend_from_slice(&read[value]);
                            Data::Joined
                        }
                    };
                    let len = match data {
                        Data::At(first, last) => last - first,
                        _ => self.data.len(),
                    };
                    if len > self.max_event {
                        return Err(SseError::EventTooLarge(self.max_event));
                    }
                }
                b"event" => kind = Some((value.start, value.end)),
                _ => {}
            }
        }
        // Cut by the end of the read: the buffered path frames it again
        // from its first line, which is rare enough not to matter.
        if let Data::Joined = data {
            self.data.clear();
        }
        Ok(InPlace::Cut)
    }

    fn event_in_place(
        &mut self,
        data: Data,
        kind: Option<(usize, usize)>,
    ) -> Result<(&str, &str), SseError> {
        let data = match data {
            Data::At(start, end) => &self.read[start..end],
            _ => {
                // Cleared when the next event starts.
                self.dispatched = true;
                &self.data[..]
            }
        };
        let kind = kind.map_or(&b""[..], |(start, end)| &self.read[start..end]);
        let (Ok(data), Ok(kind)) = (std::str::from_utf8(data), std::str::from_utf8(kind)) else {
            return Err(SseError::NotUtf8);
        };
        Ok((if kind.is_empty() { "message" } else { kind }, data))
    }

    /// Moves the unframed rest of the read to the buffer.
    fn carry_over(&mut self) {
        if self.at < self.read.len() {
            // Drop what was consumed before growing, so the buffer holds at
            // most one partial event plus one read.
            if self.start > 0 {
                self.buffer.drain(..self.start);
                self.start = 0;
            }
            self.buffer.extend_from_slice(&self.read[self.at..]);
        }
        self.release();
    }

    /// Lets go of a read once framed: it shares its allocation with the
    /// HTTP client's read buffer, which cannot reuse that memory while the
    /// read is held (an idle stream would keep a whole buffer alive).
    fn release(&mut self) {
        self.read = Bytes::new();
        self.at = 0;
    }

    /// Buffered path: reads lines until an event is complete (`true`) or
    /// more bytes are needed (`false`).
    fn advance(&mut self, end: bool) -> Result<bool, SseError> {
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
            let (name, value) = split_field(line);
            match name {
                b"data" => {
                    if self.has_data {
                        self.data.push(b'\n');
                    }
                    self.data.extend_from_slice(value);
                    self.has_data = true;
                }
                b"event" => {
                    self.kind.clear();
                    self.kind.extend_from_slice(value);
                }
                _ => {}
            }
            if self.data.len() > self.max_event {
                return Err(SseError::EventTooLarge(self.max_event));
            }
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

    /// The bytes not framed yet (for error messages).
    pub fn pending(&self) -> &[u8] {
        if self.start < self.buffer.len() {
            &self.buffer[self.start..]
        } else {
            &self.read[self.at.min(self.read.len())..]
        }
    }
}

/// What framing in place found.
enum InPlace {
    /// A whole event.
    Event(Data, Option<(usize, usize)>),
    /// The rest of the read is not a whole event.
    Cut,
}

/// A non-empty line as `(field name, value)`: comments have an empty name,
/// a line without a colon is a name with an empty value, and one space
/// after the colon is dropped.
fn split_field(line: &[u8]) -> (&[u8], &[u8]) {
    if line.first() == Some(&b':') {
        return (b"", b"");
    }
    // The field of nearly every line, without searching for the colon.
    if let Some(value) = line.strip_prefix(b"data:") {
        return (b"data", value.strip_prefix(b" ").unwrap_or(value));
    }
    match memchr::memchr(b':', line) {
        Some(colon) => {
            let value = &line[colon + 1..];
            (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
        }
        None => (line, b""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Result<Vec<(String, String)>, SseError> {
        let mut framer = Framer::new(1 << 20, 1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed(Bytes::copy_from_slice(chunk));
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
        let feed = |framer: &mut Framer, bytes: &'static [u8]| {
            framer.feed(Bytes::from_static(bytes));
        };
        let mut framer = Framer::new(8, 16);
        feed(&mut framer, b"data: 123456");
        assert_eq!(framer.next(false), Err(SseError::LineTooLong(8)));
        // In place (after a first event) and buffered (the first read).
        for first in [&b"data: 1\n\n"[..], b""] {
            let mut framer = Framer::new(64, 16);
            framer.feed(Bytes::from(
                [first, b"data: 0123456789\ndata: 0123456789\n\n"].concat(),
            ));
            if !first.is_empty() {
                assert_eq!(framer.next(false), Ok(Some(("message", "1"))));
            }
            assert_eq!(framer.next(false), Err(SseError::EventTooLarge(16)));
            let mut framer = Framer::new(64, 64);
            framer.feed(Bytes::from([first, b"data: \xff\xfe\n\n"].concat()));
            if !first.is_empty() {
                assert_eq!(framer.next(false), Ok(Some(("message", "1"))));
            }
            assert_eq!(framer.next(false), Err(SseError::NotUtf8));
        }
        // A character split across reads is whole in the event.
        assert_eq!(
            events(&[b"data: \xc3", b"\xa9\n\n"]).unwrap(),
            [pair("message", "\u{e9}")]
        );
    }

    #[test]
    fn events_framed_in_place_and_across_reads_agree() {
        // Several events per read, multi-line data, types, comments, events
        // without data, every line ending: the same events however the
        // body is cut, in place or carried over.
        let body: &[u8] = b"data: 0\n\nevent: t\ndata: a\ndata: b\n\n: c\n\nevent: lost\n\n\
                            data: {\"x\":1}\r\n\r\ndata:\rdata: y\r\rid: 3\ndata: z\n\n";
        let expected = [
            pair("message", "0"),
            pair("t", "a\nb"),
            pair("message", "{\"x\":1}"),
            pair("message", "\ny"),
            pair("message", "z"),
        ];
        assert_eq!(events(&[body]).unwrap(), expected);
        for at in 0..body.len() {
            let (a, b) = body.split_at(at);
            assert_eq!(events(&[a, b]).unwrap(), expected, "split at {at}");
            // A first read that starts the stream, then cuts at `at`.
            assert_eq!(
                events(&[b"data: 0\n\n", &body[9..at.max(9)], &body[at.max(9)..]]).unwrap(),
                expected,
                "split at 9 and {at}"
            );
        }
        for size in 1..8 {
            let reads: Vec<&[u8]> = body.chunks(size).collect();
            assert_eq!(events(&reads).unwrap(), expected, "reads of {size}");
        }
    }
}
