//! The incremental parser against serde_json, on texts split everywhere.

use super::*;
use serde_json::json;

/// Texts with what is hard to split: escapes, surrogate pairs, multi-byte
/// characters, numbers at the end of containers, nesting, empty ones.
const TEXTS: &[&str] = &[
    r#"{"setup": "Why did the crab never share?", "punchline": "Because he's shellfish.", "rating": 7}"#,
    r#"{"a": "quote \" backslash \\ slash \/ \b\f\n\r\t", "b": "\u00e9\u4e2d\ud83d\ude00", "c": "é中😀 ok"}"#,
    r#"  {"n": [-1, 0, 2.5e-3, 1E+2, 12345678901234567890], "t": true, "f": false, "z": null}"#,
    r#"{"deep": {"list": [{"x": []}, {"y": {}}, [[], [1, [2]]]], "s": ""}, "e": {}}"#,
    "```json\n{\"fenced\": [\"a\", \"b\"]}\n```",
];

fn parse_in(pieces: &[&[u8]]) -> (PartialJson, Vec<(Vec<PathSeg>, String)>) {
    let mut parser = PartialJson::new();
    let mut strings = Vec::new();
    for piece in pieces {
        parser.push(piece, |path, event| {
            if let Event::Str(text) = event {
                strings.push((path.to_vec(), text.to_owned()));
            }
        });
    }
    (parser, strings)
}

fn expected(text: &str) -> Value {
    let start = text.find('{').unwrap_or(0);
    let end = text.rfind('}').map_or(text.len(), |end| end + 1);
    serde_json::from_str(&text[start..end]).unwrap()
}

/// Every string's pieces, joined per path, in order of first appearance.
fn joined(strings: &[(Vec<PathSeg>, String)]) -> Vec<(Vec<PathSeg>, String)> {
    let mut out: Vec<(Vec<PathSeg>, String)> = Vec::new();
    for (path, text) in strings {
        match out.iter_mut().find(|(p, _)| p == path) {
            Some((_, joined)) => joined.push_str(text),
            None => out.push((path.clone(), text.clone())),
        }
    }
    out
}

#[test]
fn split_at_every_byte_gives_the_same_value_and_strings() {
    for text in TEXTS {
        let bytes = text.as_bytes();
        let (whole, whole_strings) = parse_in(&[bytes]);
        assert_eq!(whole.value(), Some(&expected(text)), "{text}");
        for cut in 0..=bytes.len() {
            let (split, strings) = parse_in(&[&bytes[..cut], &bytes[cut..]]);
            assert!(!split.failed(), "{text} cut at {cut}");
            assert_eq!(split.value(), whole.value(), "{text} cut at {cut}");
            assert_eq!(
                joined(&strings),
                joined(&whole_strings),
                "{text} cut at {cut}"
            );
        }
        // One byte at a time: every string piece is whole characters.
        let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
        let (bytewise, strings) = parse_in(&pieces);
        assert_eq!(bytewise.value(), whole.value(), "{text} byte by byte");
        assert_eq!(
            joined(&strings),
            joined(&whole_strings),
            "{text} byte by byte"
        );
    }
}

#[test]
fn snapshots_grow_towards_the_value() {
    let text = TEXTS[1].as_bytes();
    let mut parser = PartialJson::new();
    let mut last_b = String::new();
    for byte in text.chunks(1) {
        parser.push(byte, |_, _| {});
        if let Some(b) = parser
            .snapshot()
            .and_then(|s| s["b"].as_str().map(str::to_owned))
        {
            assert!(b.starts_with(&last_b), "{b:?} after {last_b:?}");
            last_b = b;
        }
    }
    assert_eq!(last_b, "é中😀");
    assert_eq!(parser.snapshot(), Some(expected(TEXTS[1])));
}

#[test]
fn each_string_is_reported_once_per_push() {
    let mut parser = PartialJson::new();
    let mut events = Vec::new();
    parser.push(br#"{"a": "xy"#, |path, event| {
        events.push(format!("{path:?} {event:?}"))
    });
    parser.push(br#"z\n", "b": [1"#, |path, event| {
        events.push(format!("{path:?} {event:?}"))
    });
    assert_eq!(
        events,
        [
            "[] Begin",
            r#"[Key("a")] Str("")"#,
            r#"[Key("a")] Str("xy")"#,
            r#"[Key("a")] Str("z\n")"#,
            r#"[Key("a")] Complete(String("xyz\n"))"#,
            r#"[Key("b")] Begin"#,
        ]
    );
}

#[test]
fn malformed_text_stops_the_parser() {
    for bad in [
        r#"{"a" 1}"#,
        r#"{"a": tru}"#,
        r#"{"a": "\x"}"#,
        r#"{"a": "\ud800x"}"#,
        r#"{"a": 1]"#,
        r#"{"a": -}"#,
    ] {
        let (parser, _) = parse_in(&[bad.as_bytes()]);
        assert!(parser.failed(), "{bad}");
        assert_eq!(parser.value(), None, "{bad}");
    }
    // Invalid UTF-8 in a string.
    let (parser, _) = parse_in(&[b"{\"a\": \"\xff\xfe\"}"]);
    assert!(parser.failed());
}

/// A small deterministic generator (no dev-dependency): xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    let pick = if depth > 3 {
        rng.below(5)
    } else {
        rng.below(7)
    };
    match pick {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!((rng.next() % 100_000) as i64 - 50_000),
        3 => json!((rng.next() % 10_000) as f64 / 7.0),
        4 => {
            let alphabet = [
                "a", "Z", " ", "\"", "\\", "\n", "é", "中", "😀", "\u{1}", "/",
            ];
            let len = rng.below(12);
            Value::String(
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                    .collect(),
            )
        }
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => random_object(rng, depth + 1),
    }
}

fn random_object(rng: &mut Rng, depth: u32) -> Value {
    let mut map = Map::new();
    for i in 0..rng.below(5) {
        map.insert(format!("k{i}é"), random_value(rng, depth));
    }
    Value::Object(map)
}

#[test]
fn property_random_values_split_randomly_parse_back() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let value = random_object(&mut rng, 0);
        let text = if rng.below(2) == 0 {
            serde_json::to_string(&value).unwrap()
        } else {
            serde_json::to_string_pretty(&value).unwrap()
        };
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = (1 + rng.below(8) as usize).min(bytes.len() - at);
            pieces.push(&bytes[at..at + len]);
            at += len;
        }
        let (parser, _) = parse_in(&pieces);
        // As serde_json reads it (its float parsing is off by an ulp at
        // times, on the whole text as on one number).
        let reread: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parser.value(), Some(&reread), "{text}");
    }
}
