//! Partial JSON, parsed incrementally: the value so far while a model
//! writes it.
//!
//! [`PartialJson`] takes the text of a JSON value in pieces of any size
//! (split anywhere, even inside a string, an escape or a multi-byte
//! character) and reports what each piece changed as [`Event`]s at a
//! [`PathSeg`] path. Each byte is read once: the work per piece follows the
//! piece's length, not the length of the text so far, so the cost per chunk
//! stays flat as an answer grows (the text is never re-parsed).
//!
//! The typed partial values of [`TypedEvent::Partial`](crate::TypedEvent)
//! are built from these events: `#[derive(LlmSchema)]` generates, for each
//! struct, a partial type whose fields are all optional ([`Partial`]), and
//! the [`Kind`]s here say how each field follows its events:
//!
//! - strings ([`Text`]) grow as their characters arrive;
//! - lists ([`List`]) grow an element at a time, strings in them growing too;
//! - `Option`s ([`Opt`]) are `None` until a value, and stay `None` on `null`;
//! - numbers, booleans ([`Scalar`]) and every other type ([`Whole`]: enums,
//!   nested structs, dates...) appear once their value is complete, parsed
//!   by serde as the final value will be;
//! - a field marked `#[llm(partial)]`, whose type (or the type inside its
//!   `Vec`, `Option`, `Box`) is a struct deriving `LlmSchema`, follows that
//!   struct's own partial type instead: its fields fill in one by one. A
//!   derive reads names, not traits, so it cannot tell such a struct from
//!   a type that only has a `JsonSchema` impl: the attribute says it.
//!
//! ```
//! use llmax::partial::{Event, PartialJson};
//!
//! let mut parser = PartialJson::new();
//! let mut seen = Vec::new();
//! for piece in [r#"{"setup": "Why did the "#, r#"crab never share?", "n": 4"#, "2}"] {
//!     parser.push(piece.as_bytes(), |path, event| {
//!         if let Event::Str(text) = event {
//!             seen.push(format!("{path:?} += {text:?}"));
//!         }
//!     });
//! }
//! assert_eq!(seen, [
//!     r#"[Key("setup")] += """#,
//!     r#"[Key("setup")] += "Why did the ""#,
//!     r#"[Key("setup")] += "crab never share?""#,
//! ]);
//! assert_eq!(parser.value(), Some(&serde_json::json!({"setup": "Why did the crab never share?", "n": 42})));
//! ```

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// The member of an object with this key.
    Key(String),
    /// The element of an array at this position.
    Index(usize),
}

/// What a piece of text changed, at a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// An object or an array opened here.
    Begin,
    /// A string here grew by this text (`""` when it opens). Sent at most
    /// once per string per [`push`](PartialJson::push).
    Str(&'a str),
    /// The value here is complete (any kind of value: strings, numbers,
    /// objects and arrays too, once closed).
    Complete(&'a Value),
}

/// An incremental parser of one JSON value (see the [module docs](self)).
///
/// It waits for the first `{` or `[` (skipping what comes before, such as a
/// Markdown fence), reads one value, and ignores what follows. Malformed
/// JSON stops it: [`failed`](Self::failed) says so, and no event follows;
/// the final parse of the whole text reports the error.
#[derive(Debug, Default)]
pub struct PartialJson {
    /// The open containers, outermost first.
    stack: Vec<Frame>,
    /// Where the value being read is: one step per open container below
    /// the root, and one more for the member being read in the innermost.
    path: Vec<PathSeg>,
    lex: Lex,
    /// The bytes of the string being read (decoded), and how many of them
    /// were already reported.
    text: Vec<u8>,
    reported: usize,
    escape: Escape,
    /// The characters of the number being read.
    number: String,
    /// The root value, once complete.
    root: Option<Value>,
}

#[derive(Debug)]
enum Frame {
    Object(Map<String, Value>),
    Array(Vec<Value>),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Before the root value.
    #[default]
    Start,
    /// A value is expected (after `:`, or `,` in an array).
    Value,
    /// Right after `[`: a value or `]`.
    ValueOrEnd,
    /// Right after `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object: a key.
    Key,
    Colon,
    CommaOrEnd,
    /// Inside a string: a key, or a value.
    Str {
        key: bool,
    },
    Number,
    /// Inside `true`, `false` or `null`: the word and how much was read.
    Literal {
        word: &'static [u8],
        read: u8,
    },
    Done,
    Failed,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After `\`.
    Backslash,
    /// In `\uXXXX`: digits read, value so far, and a high surrogate read
    /// just before (whose low half this must be).
    Unicode {
        digits: u8,
        code: u32,
        high: Option<u32>,
    },
    /// After a high surrogate's `\uXXXX`: `\` expected, then `u`.
    LowBackslash {
        high: u32,
    },
    LowU {
        high: u32,
    },
}

impl PartialJson {
    /// A parser that has read nothing yet.
    pub fn new() -> PartialJson {
        PartialJson::default()
    }

    /// Reads the next piece of the text, calling `on` for each change it
    /// makes, in order; a string that grew is reported once, with all this
    /// piece added to it. Pieces may split the text anywhere.
    pub fn push(&mut self, bytes: &[u8], mut on: impl FnMut(&[PathSeg], Event<'_>)) {
        let mut at = 0;
        while at < bytes.len() {
            at = self.step(bytes, at, &mut on);
        }
        if self.lex == (Lex::Str { key: false }) {
            self.report_text(&mut on);
        }
    }

    /// The complete value, once read.
    pub fn value(&self) -> Option<&Value> {
        self.root.as_ref()
    }

    /// Whether the root value is complete.
    pub fn is_complete(&self) -> bool {
        self.root.is_some()
    }

    /// Whether the text is not JSON (nothing more is read).
    pub fn failed(&self) -> bool {
        self.lex == Lex::Failed
    }

    /// The value so far: open objects and arrays with what they hold, the
    /// string being read as far as it goes; a number or a `true`, `false`,
    /// `null` being read is left out until complete. `None` before the
    /// root opens. It is built anew (the cost follows the value's size):
    /// events are the incremental way.
    ///
    /// ```
    /// let mut parser = llmax::partial::PartialJson::new();
    /// parser.push(br#"{"a": [1, {"b": "h"#, |_, _| {});
    /// assert_eq!(parser.snapshot(), Some(serde_json::json!({"a": [1, {"b": "h"}]})));
    /// ```
    pub fn snapshot(&self) -> Option<Value> {
        if let Some(root) = &self.root {
            return Some(root.clone());
        }
        let mut child = match self.lex {
            Lex::Str { key: false } => Some(Value::String(valid_prefix(&self.text).to_owned())),
            _ => None,
        };
        for (depth, frame) in self.stack.iter().enumerate().rev() {
            let mut value = match frame {
                Frame::Object(map) => Value::Object(map.clone()),
                Frame::Array(items) => Value::Array(items.clone()),
            };
            if let Some(child) = child.take() {
                match (&mut value, self.path.get(depth)) {
                    (Value::Object(map), Some(PathSeg::Key(key))) => {
                        map.insert(key.clone(), child);
                    }
                    (Value::Array(items), _) => items.push(child),
                    _ => {}
                }
            }
            child = Some(value);
        }
        child
    }

    /// Reads from `bytes[at]`, returning where to go on.
    fn step(
        &mut self,
        bytes: &[u8],
        at: usize,
        on: &mut impl FnMut(&[PathSeg], Event<'_>),
    ) -> usize {
        let byte = bytes[at];
        match self.lex {
            Lex::Done | Lex::Failed => bytes.len(),
            Lex::Start => match byte {
                b'{' | b'[' => {
                    self.open(byte, on);
                    at + 1
                }
                _ => at + 1,
            },
            Lex::Str { key } => self.string(bytes, at, key, on),
            Lex::Number => {
                if matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    self.number.push(byte as char);
                    at + 1
                } else {
                    match serde_json::from_str::<serde_json::Number>(&self.number) {
                        Ok(number) => self.complete(Value::Number(number), on),
                        Err(_) => self.lex = Lex::Failed,
                    }
                    at
                }
            }
            Lex::Literal { word, read } => {
                if word.get(usize::from(read)) != Some(&byte) {
                    self.lex = Lex::Failed;
                } else if usize::from(read) + 1 == word.len() {
                    let value = match word {
                        b"true" => Value::Bool(true),
                        b"false" => Value::Bool(false),
                        _ => Value::Null,
                    };
                    self.complete(value, on);
                } else {
                    self.lex = Lex::Literal {
                        word,
                        read: read + 1,
                    };
                }
                at + 1
            }
            _ if byte.is_ascii_whitespace() => at + 1,
            Lex::Value | Lex::ValueOrEnd => {
                if byte == b']' && self.lex == Lex::ValueOrEnd {
                    self.close(on);
                    return at + 1;
                }
                self.value_start(byte, on);
                at + 1
            }
            Lex::KeyOrEnd | Lex::Key => {
                match byte {
                    b'"' => self.start_string(true),
                    b'}' if self.lex == Lex::KeyOrEnd => self.close(on),
                    _ => self.lex = Lex::Failed,
                }
                at + 1
            }
            Lex::Colon => {
                self.lex = if byte == b':' {
                    Lex::Value
                } else {
                    Lex::Failed
                };
                at + 1
            }
            Lex::CommaOrEnd => {
                match (byte, self.stack.last()) {
                    (b',', Some(Frame::Object(_))) => self.lex = Lex::Key,
                    (b',', Some(Frame::Array(_))) => self.lex = Lex::Value,
                    (b'}', Some(Frame::Object(_))) | (b']', Some(Frame::Array(_))) => {
                        self.close(on);
                    }
                    _ => self.lex = Lex::Failed,
                }
                at + 1
            }
        }
    }

    /// The first byte of a value (not whitespace).
    fn value_start(&mut self, byte: u8, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        if let Some(Frame::Array(items)) = self.stack.last() {
            self.path.push(PathSeg::Index(items.len()));
        }
        match byte {
            b'{' | b'[' => self.open(byte, on),
            b'"' => {
                self.start_string(false);
                on(&self.path, Event::Str(""));
            }
            b'-' | b'0'..=b'9' => {
                self.number.clear();
                self.number.push(byte as char);
                self.lex = Lex::Number;
            }
            b't' => {
                self.lex = Lex::Literal {
                    word: b"true",
                    read: 1,
                }
            }
            b'f' => {
                self.lex = Lex::Literal {
                    word: b"false",
                    read: 1,
                }
            }
            b'n' => {
                self.lex = Lex::Literal {
                    word: b"null",
                    read: 1,
                }
            }
            _ => self.lex = Lex::Failed,
        }
    }

    fn open(&mut self, byte: u8, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        if byte == b'{' {
            self.stack.push(Frame::Object(Map::new()));
            self.lex = Lex::KeyOrEnd;
        } else {
            self.stack.push(Frame::Array(Vec::new()));
            self.lex = Lex::ValueOrEnd;
        }
        on(&self.path, Event::Begin);
    }

    fn close(&mut self, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        let value = match self.stack.pop() {
            Some(Frame::Object(map)) => Value::Object(map),
            Some(Frame::Array(items)) => Value::Array(items),
            None => {
                self.lex = Lex::Failed;
                return;
            }
        };
        self.complete(value, on);
    }

    fn start_string(&mut self, key: bool) {
        self.text.clear();
        self.reported = 0;
        self.escape = Escape::None;
        self.lex = Lex::Str { key };
    }

    /// A value is complete: report it, and put it in its container.
    fn complete(&mut self, value: Value, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        on(&self.path, Event::Complete(&value));
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                self.lex = Lex::Done;
            }
            Some(Frame::Object(map)) => {
                if let Some(PathSeg::Key(key)) = self.path.pop() {
                    map.insert(key, value);
                }
                self.lex = Lex::CommaOrEnd;
            }
            Some(Frame::Array(items)) => {
                self.path.pop();
                items.push(value);
                self.lex = Lex::CommaOrEnd;
            }
        }
    }

    /// Reads string bytes from `bytes[at]`: runs of plain bytes are copied
    /// at once.
    fn string(
        &mut self,
        bytes: &[u8],
        at: usize,
        key: bool,
        on: &mut impl FnMut(&[PathSeg], Event<'_>),
    ) -> usize {
        let byte = bytes[at];
        match self.escape {
            Escape::None => {
                let rest = &bytes[at..];
                match memchr::memchr2(b'"', b'\\', rest) {
                    Some(0) => {
                        if byte == b'\\' {
                            self.escape = Escape::Backslash;
                        } else {
                            self.end_string(key, on);
                        }
                        at + 1
                    }
                    Some(n) => {
                        self.text.extend_from_slice(&rest[..n]);
                        at + n
                    }
                    None => {
                        self.text.extend_from_slice(rest);
                        bytes.len()
                    }
                }
            }
            Escape::Backslash => {
                let decoded = match byte {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        self.escape = Escape::Unicode {
                            digits: 0,
                            code: 0,
                            high: None,
                        };
                        return at + 1;
                    }
                    _ => {
                        self.lex = Lex::Failed;
                        return at + 1;
                    }
                };
                self.text.push(decoded);
                self.escape = Escape::None;
                at + 1
            }
            Escape::Unicode { digits, code, high } => {
                let Some(digit) = (byte as char).to_digit(16) else {
                    self.lex = Lex::Failed;
                    return at + 1;
                };
                let code = code * 16 + digit;
                if digits < 3 {
                    self.escape = Escape::Unicode {
                        digits: digits + 1,
                        code,
                        high,
                    };
                    return at + 1;
                }
                let scalar = match (high, code) {
                    (None, 0xD800..=0xDBFF) => {
                        self.escape = Escape::LowBackslash { high: code };
                        return at + 1;
                    }
                    (Some(high), 0xDC00..=0xDFFF) => {
                        0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                    }
                    (None, _) => code,
                    (Some(_), _) => u32::MAX,
                };
                match char::from_u32(scalar) {
                    Some(c) => {
                        let mut buf = [0; 4];
                        self.text
                            .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        self.escape = Escape::None;
                    }
                    None => self.lex = Lex::Failed,
                }
                at + 1
            }
            Escape::LowBackslash { high } => {
                if byte == b'\\' {
                    self.escape = Escape::LowU { high };
                } else {
                    self.lex = Lex::Failed;
                }
                at + 1
            }
            Escape::LowU { high } => {
                if byte == b'u' {
                    self.escape = Escape::Unicode {
                        digits: 0,
                        code: 0,
                        high: Some(high),
                    };
                } else {
                    self.lex = Lex::Failed;
                }
                at + 1
            }
        }
    }

    fn end_string(&mut self, key: bool, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        let bytes = std::mem::take(&mut self.text);
        let Ok(text) = String::from_utf8(bytes) else {
            self.lex = Lex::Failed;
            return;
        };
        if key {
            self.path.push(PathSeg::Key(text));
            self.lex = Lex::Colon;
        } else {
            if self.reported < text.len() {
                on(&self.path, Event::Str(&text[self.reported..]));
            }
            self.complete(Value::String(text), on);
        }
    }

    /// Reports what the string being read gained, up to its last whole
    /// character.
    fn report_text(&mut self, on: &mut impl FnMut(&[PathSeg], Event<'_>)) {
        let new = &self.text[self.reported..];
        let valid = match std::str::from_utf8(new) {
            Ok(text) => text,
            Err(error) if error.error_len().is_none() => {
                // A character cut by the piece's end: the rest comes next.
                valid_prefix(new)
            }
            Err(_) => {
                self.lex = Lex::Failed;
                return;
            }
        };
        if !valid.is_empty() {
            self.reported += valid.len();
            on(&self.path, Event::Str(valid));
        }
    }
}

/// The longest prefix of `bytes` that is whole UTF-8 characters.
fn valid_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // The bytes up to `valid_up_to` are valid UTF-8 by definition.
        Err(error) => std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default(),
    }
}

/// The typed partial value of a type deriving `LlmSchema`: every field
/// optional, filled as the answer arrives (see the [module docs](self)).
///
/// ```
/// #[derive(llmax::LlmSchema, serde::Deserialize, Debug)]
/// struct Joke {
///     setup: String,
///     rating: Option<u8>,
/// }
///
/// let partial: llmax::partial::Partial<Joke> = Default::default();
/// assert_eq!(partial.setup, None);
/// assert_eq!(partial.rating, None);
/// ```
pub type Partial<T> = <T as crate::LlmSchema>::Partial;

/// How a partial value follows the [`Event`]s at its path. The derive picks
/// a kind for each field from its type; a partial field is an
/// `Option<K::Elem>`, `None` until the value starts.
pub trait Kind {
    /// The partial value.
    type Elem;

    /// The partial value that `event` at `path` (below this value) starts,
    /// if any.
    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<Self::Elem>;

    /// Brings `elem` up to date with `event` at `path`.
    fn update(elem: &mut Self::Elem, path: &[PathSeg], event: &Event<'_>);
}

/// Applies `event` at `path` to the partial field `slot` of kind `K`.
pub fn apply<K: Kind>(slot: &mut Option<K::Elem>, path: &[PathSeg], event: &Event<'_>) {
    match slot {
        Some(elem) => K::update(elem, path, event),
        None => *slot = K::create(path, event),
    }
}

/// A string, growing as it arrives.
#[derive(Debug)]
pub enum Text {}

impl Kind for Text {
    type Elem = String;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<String> {
        match (path, event) {
            ([], Event::Str(text)) => Some((*text).to_owned()),
            ([], Event::Complete(Value::String(text))) => Some(text.clone()),
            _ => None,
        }
    }

    fn update(elem: &mut String, path: &[PathSeg], event: &Event<'_>) {
        match (path, event) {
            ([], Event::Str(text)) => elem.push_str(text),
            // Every piece was reported: only a string that did not come in
            // pieces differs.
            ([], Event::Complete(Value::String(text))) if text.len() != elem.len() => {
                elem.clone_from(text);
            }
            _ => {}
        }
    }
}

/// A number, a boolean, a character: there once complete.
#[derive(Debug)]
pub struct Scalar<T>(std::marker::PhantomData<fn() -> T>);

impl<T: DeserializeOwned> Kind for Scalar<T> {
    type Elem = T;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<T> {
        match (path, event) {
            ([], Event::Complete(value)) => T::deserialize(*value).ok(),
            _ => None,
        }
    }

    fn update(elem: &mut T, path: &[PathSeg], event: &Event<'_>) {
        if let Some(value) = Self::create(path, event) {
            *elem = value;
        }
    }
}

/// Any other type (an enum, a nested struct, a date...): there once its
/// value is complete, parsed by serde; shared, so that each partial value
/// handed out costs a count, not a copy.
#[derive(Debug)]
pub struct Whole<T>(std::marker::PhantomData<fn() -> T>);

impl<T: DeserializeOwned> Kind for Whole<T> {
    type Elem = Arc<T>;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<Arc<T>> {
        match (path, event) {
            ([], Event::Complete(value)) => T::deserialize(*value).ok().map(Arc::new),
            _ => None,
        }
    }

    fn update(elem: &mut Arc<T>, path: &[PathSeg], event: &Event<'_>) {
        if let Some(value) = Self::create(path, event) {
            *elem = value;
        }
    }
}

/// A field serde reads its own way (`deserialize_with`, `with`): the JSON
/// value, once complete.
#[derive(Debug)]
pub enum Raw {}

impl Kind for Raw {
    type Elem = Value;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<Value> {
        match (path, event) {
            ([], Event::Complete(value)) => Some((*value).clone()),
            _ => None,
        }
    }

    fn update(elem: &mut Value, path: &[PathSeg], event: &Event<'_>) {
        if let Some(value) = Self::create(path, event) {
            *elem = value;
        }
    }
}

/// An `Option` field: `None` until a value starts, and on `null`.
#[derive(Debug)]
pub struct Opt<K>(std::marker::PhantomData<fn() -> K>);

impl<K: Kind> Kind for Opt<K> {
    type Elem = K::Elem;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<K::Elem> {
        match (path, event) {
            ([], Event::Complete(Value::Null)) => None,
            _ => K::create(path, event),
        }
    }

    fn update(elem: &mut K::Elem, path: &[PathSeg], event: &Event<'_>) {
        K::update(elem, path, event);
    }
}

/// An `Option` in a list: the element is there, `None` if `null`, so that
/// the following elements keep their positions.
#[derive(Debug)]
pub struct Nullable<K>(std::marker::PhantomData<fn() -> K>);

impl<K: Kind> Kind for Nullable<K> {
    type Elem = Option<K::Elem>;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<Option<K::Elem>> {
        match (path, event) {
            ([], Event::Complete(Value::Null)) => Some(None),
            _ => K::create(path, event).map(Some),
        }
    }

    fn update(elem: &mut Option<K::Elem>, path: &[PathSeg], event: &Event<'_>) {
        apply::<K>(elem, path, event);
    }
}

/// A list (`Vec`, an array, a set...): elements are added as they start
/// (strings, lists, structs) or complete (the rest).
#[derive(Debug)]
pub struct List<K>(std::marker::PhantomData<fn() -> K>);

impl<K: Kind> Kind for List<K> {
    type Elem = Vec<K::Elem>;

    fn create(path: &[PathSeg], event: &Event<'_>) -> Option<Vec<K::Elem>> {
        match (path, event) {
            ([], Event::Begin) => Some(Vec::new()),
            ([], Event::Complete(Value::Array(items))) => Some(
                items
                    .iter()
                    .filter_map(|item| K::create(&[], &Event::Complete(item)))
                    .collect(),
            ),
            _ => None,
        }
    }

    fn update(elem: &mut Vec<K::Elem>, path: &[PathSeg], event: &Event<'_>) {
        let [PathSeg::Index(index), rest @ ..] = path else {
            return;
        };
        let len = elem.len();
        match elem.get_mut(*index) {
            Some(item) => K::update(item, rest, event),
            None if *index == len => {
                if let Some(item) = K::create(rest, event) {
                    elem.push(item);
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
