//! Typed partial values while an answer streams (`TypedEvent::Partial`,
//! `PartialValue`, `ToolCallCollector::partial_arguments`), through the
//! public API, on the recorded streams of `tests/fixtures` and on answers
//! split everywhere. The types derive only `LlmSchema` and serde's traits:
//! no `schemars` in sight.

use std::sync::Arc;

use futures_util::StreamExt;
use llmax::partial::Partial;
use llmax::{
    Deployment, Message, Model, MultiAIClient, PartialValue, Provider, StreamChunk, Tool,
    ToolCallCollector, ToolCallDelta, TypedEvent,
};
use llmax_tests::{Framing, RawServer, Reply, fixture, fixture_lines, sse_anthropic, sse_openai};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Weather in several places (the recorded Anthropic forced tool call).
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct WeatherReport {
    elements: Vec<Element>,
}

#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct Element {
    location: String,
    temperature: i32,
    condition: String,
}

/// The issue's example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
struct Joke {
    setup: String,
    punchline: String,
    rating: Option<u8>,
}

/// Every kind of field: text, lists of text and of structs, options in
/// lists, an enum, renames, a flattened struct, a skipped field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
#[serde(rename_all = "camelCase")]
struct Story {
    title: String,
    chapter_titles: Vec<String>,
    jokes: Vec<Joke>,
    tags: Option<Vec<Option<String>>>,
    mood: Mood,
    #[serde(rename = "n")]
    word_count: u32,
    scores: [f32; 2],
    #[serde(flatten)]
    meta: Meta,
    #[serde(skip)]
    read: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Mood {
    Silly { level: u8 },
    Dry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, llmax::LlmSchema)]
struct Meta {
    author: String,
}

// ---------------------------------------------------------------------------
// The partial against the value it becomes.

/// Whether `partial` could still become `story`: every string so far a
/// prefix, every list so far a prefix (its last string element a prefix),
/// every complete value equal.
fn on_the_way(partial: &Partial<Story>, story: &Story) -> bool {
    let prefix = |got: &Option<String>, want: &str| {
        got.as_ref().is_none_or(|g| want.starts_with(g.as_str()))
    };
    let list_prefix = |got: &[String], want: &[String]| {
        got.len() <= want.len()
            && got.iter().zip(want).enumerate().all(|(i, (g, w))| {
                if i + 1 == got.len() {
                    w.starts_with(g.as_str())
                } else {
                    g == w
                }
            })
    };
    prefix(&partial.title, &story.title)
        && partial
            .chapter_titles
            .as_deref()
            .is_none_or(|got| list_prefix(got, &story.chapter_titles))
        && partial.jokes.as_ref().is_none_or(|got| {
            got.len() <= story.jokes.len() && got.iter().zip(&story.jokes).all(|(g, w)| **g == *w)
        })
        && partial.mood.as_deref().is_none_or(|m| *m == story.mood)
        && partial.word_count.is_none_or(|n| n == story.word_count)
        && partial.meta.as_deref().is_none_or(|m| *m == story.meta)
}

/// Whether `partial` is `story`, all of it.
fn arrived(partial: &Partial<Story>, story: &Story) -> bool {
    let jokes: Option<Vec<Joke>> = partial
        .jokes
        .as_ref()
        .map(|jokes| jokes.iter().map(|j| Joke::clone(j)).collect());
    partial.title.as_deref() == Some(story.title.as_str())
        && partial.chapter_titles.as_ref() == Some(&story.chapter_titles)
        && jokes.as_ref() == Some(&story.jokes)
        && partial.tags == story.tags
        && partial.mood.as_deref() == Some(&story.mood)
        && partial.word_count == Some(story.word_count)
        && partial.scores.as_deref() == Some(&story.scores[..])
        && partial.meta.as_deref() == Some(&story.meta)
}

fn story() -> Story {
    Story {
        title: "Le crabe qui ne partageait pas — \"égoïste\" 🦀\n\\fin".into(),
        chapter_titles: vec!["Un".into(), "".into(), "中文 \u{1F600} tab\t".into()],
        jokes: vec![
            Joke {
                setup: "Why?".into(),
                punchline: "Shellfish.".into(),
                rating: Some(7),
            },
            Joke {
                setup: "Knock".into(),
                punchline: "Who".into(),
                rating: None,
            },
        ],
        tags: Some(vec![Some("sea".into()), None, Some("é".into())]),
        mood: Mood::Silly { level: 3 },
        word_count: 1234,
        scores: [0.5, -2.0],
        meta: Meta {
            author: "Anonyme".into(),
        },
        read: false,
    }
}

/// Feeds `pieces` to a `PartialValue`, checking after each that the value
/// is on its way to `story`; the last partial must be all of it.
fn follow(pieces: &[&str], story: &Story) {
    let mut value = PartialValue::<Story>::new();
    for piece in pieces {
        value.push(piece);
        if let Some(partial) = value.get() {
            assert!(on_the_way(partial, story), "{partial:?} after {piece:?}");
        }
    }
    let last = value.get().expect("a value");
    assert!(arrived(last, story), "{last:?}");
}

#[test]
fn a_story_split_at_every_character_ends_as_its_value() {
    let story = story();
    for text in [
        serde_json::to_string(&story).unwrap(),
        serde_json::to_string_pretty(&story).unwrap(),
    ] {
        // Escapes written by serde (\" \\ \n \t) and raw multi-byte characters.
        assert!(text.contains("\\\"") && text.contains('🦀'));
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &cut in &boundaries {
            follow(&[&text[..cut], &text[cut..]], &story);
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        follow(&pieces, &story);
    }
    // Escaped non-ASCII (\u00e9, surrogate pairs for 🦀), one character per piece.
    let escaped = serde_json::to_string(&story)
        .unwrap()
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect::<String>();
    let pieces: Vec<String> = escaped.chars().map(String::from).collect();
    follow(
        &pieces.iter().map(String::as_str).collect::<Vec<_>>(),
        &story,
    );
}

#[test]
fn partial_values_grow_field_by_field() {
    let mut joke = PartialValue::<Joke>::new();
    assert!(!joke.push("```json\n"));
    assert!(joke.get().is_none());
    assert!(joke.push(r#"{"setup": "Why did"#));
    let partial = joke.shared().unwrap();
    assert_eq!(partial.setup.as_deref(), Some("Why did"));
    assert_eq!((partial.punchline.as_deref(), partial.rating), (None, None));
    assert!(joke.push(r#" the crab", "rating": nu"#));
    assert_eq!(
        joke.get().unwrap().rating,
        None,
        "an incomplete literal is not there yet"
    );
    // `partial` is still held: the update copied it rather than change it.
    assert_eq!(partial.setup.as_deref(), Some("Why did"));
    joke.push(r#"ll, "punchline": "Shell"#);
    let now = joke.get().unwrap();
    assert_eq!(now.setup.as_deref(), Some("Why did the crab"));
    assert_eq!(now.rating, None);
    assert_eq!(now.punchline.as_deref(), Some("Shell"));
    // Debug names the partial type after the type.
    assert!(format!("{now:?}").starts_with("JokePartial { setup: Some("));
}

/// A small deterministic generator (no dev-dependency): xorshift.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn text(&mut self) -> String {
        let alphabet = [
            "a", "Z", " ", "\"", "\\", "\n", "é", "中", "😀", "\u{1}", "/", "}", "]",
        ];
        (0..self.below(10))
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn property_the_last_partial_is_the_final_value() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..200 {
        let story = Story {
            title: rng.text(),
            chapter_titles: (0..rng.below(4)).map(|_| rng.text()).collect(),
            jokes: (0..rng.below(3))
                .map(|_| Joke {
                    setup: rng.text(),
                    punchline: rng.text(),
                    rating: (rng.below(2) == 0).then(|| rng.below(256) as u8),
                })
                .collect(),
            tags: (rng.below(2) == 0).then(|| {
                (0..rng.below(4))
                    .map(|_| (rng.below(2) == 0).then(|| rng.text()))
                    .collect()
            }),
            mood: if rng.below(2) == 0 {
                Mood::Dry
            } else {
                Mood::Silly {
                    level: rng.below(9) as u8,
                }
            },
            word_count: rng.below(100_000) as u32,
            scores: [rng.below(100) as f32 / 4.0, -(rng.below(100) as f32)],
            meta: Meta { author: rng.text() },
            read: false,
        };
        let text = if rng.below(2) == 0 {
            serde_json::to_string(&story).unwrap()
        } else {
            serde_json::to_string_pretty(&story).unwrap()
        };
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let mut end = (1 + rng.below(12) as usize).min(rest.len());
            while !rest.is_char_boundary(end) {
                end += 1;
            }
            pieces.push(&rest[..end]);
            rest = &rest[end..];
        }
        let parsed: Story = serde_json::from_str(&text).unwrap();
        follow(&pieces, &parsed);
    }
}

// ---------------------------------------------------------------------------
// Through the client, on recorded streams.

/// `text` in pieces of `size` bytes, widened to whole characters.
fn pieces(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = size.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn ask() -> Vec<Message> {
    vec![Message::user("What is the weather in these cities?")]
}

/// The stream's events: each `Partial` right after a `Delta`, at most one
/// per delta; the last partial agrees with the final value.
async fn typed_events(
    client: &MultiAIClient,
    model: Model,
) -> (Vec<Arc<Partial<WeatherReport>>>, WeatherReport, usize) {
    let mut stream = client
        .astream_typed::<WeatherReport>(&ask(), model)
        .await
        .unwrap();
    let mut partials = Vec::new();
    let mut deltas = 0;
    let mut after_delta = false;
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            TypedEvent::Delta(_) => {
                deltas += 1;
                after_delta = true;
            }
            TypedEvent::Partial(partial) => {
                assert!(
                    std::mem::take(&mut after_delta),
                    "a partial follows its delta, once"
                );
                partials.push(partial);
            }
            TypedEvent::Done(report) => done = Some(report),
        }
    }
    (partials, done.expect("a final value"), deltas)
}

fn check_partials(partials: &[Arc<Partial<WeatherReport>>], report: &WeatherReport) {
    let mut seen = 0;
    for partial in partials {
        let elements = partial.elements.as_deref().unwrap_or_default();
        assert!(elements.len() >= seen, "elements only come");
        seen = elements.len();
        for (got, want) in elements.iter().zip(&report.elements) {
            assert_eq!(**got, *want);
        }
    }
    let last = partials.last().expect("partials");
    let elements: Vec<&Element> = last
        .elements
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| &**e)
        .collect();
    assert_eq!(elements, report.elements.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn recorded_anthropic_stream_yields_partial_values() {
    // The forced tool's input arrives as `input_json_delta` fragments.
    let lines = fixture_lines("anthropic/anthropic-json-tool.1.chunks.txt");
    let server = RawServer::start(vec![Reply::sse(sse_anthropic(&lines, Framing::Lf))]).await;
    let client = MultiAIClient::new(
        [Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
            .endpoint(&server.url)
            .api_key("k")],
    )
    .unwrap();
    let (partials, report, deltas) = typed_events(&client, Model::Claude4_5Sonnet).await;
    assert_eq!(report.elements[0].location, "San Francisco");
    assert!(!partials.is_empty() && partials.len() <= deltas);
    check_partials(&partials, &report);
}

#[tokio::test]
async fn openai_content_split_in_pieces_of_every_size_yields_partial_values() {
    let recorded: Value =
        serde_json::from_slice(&fixture("anthropic/anthropic-json-tool.1.json")).unwrap();
    let text = recorded["content"][0]["input"].to_string();
    let chunk = |delta: Value, finish: Value| {
        json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    for size in [1, 2, 3, 5, 8, 13, 40, text.len()] {
        let mut lines: Vec<String> = pieces(&text, size)
            .into_iter()
            .map(|piece| chunk(json!({"content": piece}), Value::Null))
            .collect();
        lines.push(chunk(json!({}), json!("stop")));
        let server = RawServer::start(vec![Reply::sse_split(
            &sse_openai(&lines, Framing::CrLf),
            7,
        )])
        .await;
        let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::OpenAi)
            .endpoint(&server.url)
            .api_key("k")])
        .unwrap();
        let (partials, report, deltas) = typed_events(&client, Model::Gpt4o).await;
        assert_eq!(deltas, lines.len() - 1, "size {size}");
        check_partials(&partials, &report);
    }
}

// ---------------------------------------------------------------------------
// Streamed tool-call arguments.

/// Looks up the weather of a place.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
#[llm(name = "weather")]
struct WeatherArgs {
    location: String,
}

#[tokio::test]
async fn tool_call_arguments_are_typed_while_they_arrive() {
    // The recorded Mistral call's arguments, streamed by OpenAI in pieces of
    // 3 bytes, next to a call of another tool.
    let mistral: Value =
        serde_json::from_slice(&fixture("mistral/mistral-tool-call.json")).unwrap();
    let arguments = mistral["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap()
        .to_owned();
    let location = serde_json::from_str::<WeatherArgs>(&arguments)
        .unwrap()
        .location;
    let chunk = |delta: Value| {
        json!({"choices": [{"index": 0, "delta": delta, "finish_reason": null}]}).to_string()
    };
    let mut lines = vec![chunk(json!({"tool_calls": [
        {"index": 0, "id": "call_w", "type": "function", "function": {"name": "weather", "arguments": ""}},
        {"index": 1, "id": "call_o", "type": "function", "function": {"name": "other", "arguments": "{}"}}
    ]}))];
    for piece in pieces(&arguments, 3) {
        lines.push(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
        ));
    }
    lines.push(
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}).to_string(),
    );
    let server = RawServer::start(vec![Reply::sse(sse_openai(&lines, Framing::Lf))]).await;
    let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(&server.url)
        .api_key("k")])
    .unwrap();
    let mut stream = client
        .astream(&ask(), Model::Gpt4o)
        .tools([Tool::of::<WeatherArgs>()])
        .await
        .unwrap();
    let mut calls = ToolCallCollector::default();
    let mut seen: Vec<String> = Vec::new();
    while let Some(chunk) = stream.next().await {
        calls.push(&chunk.unwrap());
        assert!(
            calls.partial_arguments::<WeatherArgs>(1).is_none(),
            "call 1 is another tool"
        );
        if let Some(place) = calls
            .partial_arguments::<WeatherArgs>(0)
            .and_then(|a| a.location.clone())
            && seen.last() != Some(&place)
        {
            assert!(location.starts_with(&place), "{place:?}");
            seen.push(place);
        }
    }
    assert!(seen.len() > 2, "{seen:?}");
    assert_eq!(seen.last(), Some(&location));
    assert_eq!(calls.finish()[0].function.arguments, arguments);
}

#[test]
fn tool_call_arguments_from_hand_made_chunks() {
    let mut calls = ToolCallCollector::default();
    let push = |calls: &mut ToolCallCollector, delta: ToolCallDelta| {
        let mut chunk = StreamChunk::default();
        chunk.tool_calls.push(delta);
        calls.push(&chunk);
    };
    push(
        &mut calls,
        ToolCallDelta::new(4)
            .with_id("c")
            .with_name("weather")
            .with_arguments(r#"{"location": "Par"#),
    );
    assert_eq!(
        calls
            .partial_arguments::<WeatherArgs>(4)
            .unwrap()
            .location
            .as_deref(),
        Some("Par")
    );
    // A copy reads the arguments so far afresh.
    let mut copy = calls.clone();
    push(&mut calls, ToolCallDelta::new(4).with_arguments("is\"}"));
    assert_eq!(
        calls
            .partial_arguments::<WeatherArgs>(4)
            .unwrap()
            .location
            .as_deref(),
        Some("Paris")
    );
    assert_eq!(
        copy.partial_arguments::<WeatherArgs>(4)
            .unwrap()
            .location
            .as_deref(),
        Some("Par")
    );
    assert!(calls.partial_arguments::<WeatherArgs>(5).is_none());
}

// ---------------------------------------------------------------------------
// A field whose type has no schema of its own.

/// A date as text, with no schema (as a type from a crate llmax's schemars
/// has no feature for).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(transparent)]
struct Day(String);

/// `#[schemars(with = "...")]` gives it one, with no `schemars` derive on
/// the type: the attribute is `LlmSchema`'s too.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct Meeting {
    /// ISO 8601.
    #[schemars(with = "String")]
    day: Day,
}

#[test]
fn a_field_type_without_schema_takes_schemars_with() {
    use llmax::LlmSchema;
    assert_eq!(
        Meeting::llm_schema()["properties"]["day"],
        json!({"type": "string", "description": "ISO 8601."})
    );
    let mut meeting = PartialValue::<Meeting>::new();
    meeting.push(r#"{"day": "2026-12-0"#);
    assert_eq!(meeting.get().unwrap().day, None, "there once complete");
    meeting.push(r#"1"}"#);
    assert_eq!(
        meeting.get().unwrap().day.as_deref(),
        Some(&Day("2026-12-01".into()))
    );
}

// ---------------------------------------------------------------------------
// Nested types followed field by field.

/// `#[llm(partial)]`: the nested `Joke`s stream field by field, with their
/// own partial type, instead of appearing once complete.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct Book {
    #[llm(partial)]
    jokes: Vec<Joke>,
    #[llm(partial)]
    best: Option<Box<Joke>>,
    /// Without the attribute: there once complete.
    worst: Option<Joke>,
}

#[test]
fn nested_types_marked_partial_stream_field_by_field() {
    let mut book = PartialValue::<Book>::new();
    book.push(r#"{"jokes": [{"setup": "Kno"#);
    let partial = book.get().unwrap();
    let jokes = partial.jokes.as_ref().unwrap();
    assert_eq!(jokes.len(), 1);
    assert_eq!(jokes[0].setup.as_deref(), Some("Kno"));
    assert_eq!(jokes[0].punchline, None);
    book.push(r#"ck", "punchline": "Who?", "rating": 3}, {"setup": "Why"#);
    let jokes = book.get().unwrap().jokes.clone().unwrap();
    assert_eq!(jokes.len(), 2);
    assert_eq!(
        (jokes[0].punchline.as_deref(), jokes[0].rating),
        (Some("Who?"), Some(3))
    );
    assert_eq!(jokes[1].setup.as_deref(), Some("Why"));
    book.push(r#"", "punchline": "", "rating": null}], "best": {"setup": "B"#);
    assert_eq!(
        book.get()
            .unwrap()
            .best
            .as_ref()
            .and_then(|b| b.setup.as_deref()),
        Some("B")
    );
    book.push(r#"", "punchline": "P", "rating": 9}, "worst": {"setup": "W", "punchline": "#);
    assert_eq!(
        book.get().unwrap().worst,
        None,
        "not marked: there once complete"
    );
    book.push(r#""Q", "rating": null}}"#);
    let done = book.get().unwrap();
    assert_eq!(done.best.as_ref().and_then(|b| b.rating), Some(9));
    assert_eq!(done.worst.as_ref().map(|w| w.punchline.as_str()), Some("Q"));
}

/// The recorded Anthropic tool is named `json`.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
#[llm(name = "json")]
struct JsonTool {
    elements: Vec<Element>,
}

#[tokio::test]
async fn recorded_anthropic_tool_call_arguments_are_typed_while_they_arrive() {
    let lines = fixture_lines("anthropic/anthropic-json-tool.1.chunks.txt");
    let body = sse_anthropic(&lines, Framing::Lf);
    // Whole events, and every byte on its own.
    for split in [body.len(), 1] {
        let server = RawServer::start(vec![Reply::sse_split(&body, split)]).await;
        let client = MultiAIClient::new([Deployment::new(
            Model::Claude4_5Sonnet,
            Provider::Anthropic,
        )
        .endpoint(&server.url)
        .api_key("k")])
        .unwrap();
        let mut stream = client
            .astream(&ask(), Model::Claude4_5Sonnet)
            .tools([Tool::of::<JsonTool>()])
            .await
            .unwrap();
        let mut calls = ToolCallCollector::default();
        let mut counts = Vec::new();
        while let Some(chunk) = stream.next().await {
            calls.push(&chunk.unwrap());
            if let Some(args) = calls.partial_arguments::<JsonTool>(0) {
                counts.push(args.elements.as_ref().map_or(0, Vec::len));
            }
        }
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        let last = calls.partial_arguments::<JsonTool>(0).unwrap().clone();
        let whole: JsonTool = calls.finish()[0].arguments_as("claude").unwrap();
        let elements: Vec<&Element> = last
            .elements
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| &**e)
            .collect();
        assert_eq!(
            elements,
            whole.elements.iter().collect::<Vec<_>>(),
            "split {split}"
        );
    }
}

// ---------------------------------------------------------------------------
// chrono, uuid and url fields (llmax's features of those names).

/// An appointment: types of other crates, with no attribute.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct Appointment {
    at: chrono::DateTime<chrono::Utc>,
    day: chrono::NaiveDate,
    id: uuid::Uuid,
    link: Option<url::Url>,
}

#[test]
fn chrono_uuid_and_url_fields_with_the_features() {
    use llmax::LlmSchema;
    let schema = Appointment::llm_schema();
    for field in ["at", "day", "id"] {
        // Strings; `format` is removed, as providers each accept other lists.
        assert_eq!(
            schema["properties"][field],
            json!({"type": "string"}),
            "{field}"
        );
    }
    assert_eq!(
        schema["properties"]["link"],
        json!({"type": ["string", "null"]})
    );
    let text = r#"{"at": "2026-12-01T08:30:00Z", "day": "2026-12-01", "id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "link": "https://example.com/a"}"#;
    let mut value = PartialValue::<Appointment>::new();
    value.push(&text[..20]);
    assert_eq!(
        value.get().unwrap().at,
        None,
        "a date is there once complete"
    );
    value.push(&text[20..]);
    let partial = value.get().unwrap();
    let whole: Appointment = serde_json::from_str(text).unwrap();
    assert_eq!(partial.at.as_deref(), Some(&whole.at));
    assert_eq!(partial.day.as_deref(), Some(&whole.day));
    assert_eq!(partial.id.as_deref(), Some(&whole.id));
    assert_eq!(partial.link.as_deref(), whole.link.as_ref());
}

/// Field names that are keywords, or the names the generated code uses.
#[derive(Debug, PartialEq, Deserialize, llmax::LlmSchema)]
struct Awkward {
    r#type: String,
    this: u8,
    key: Option<String>,
    event: Vec<u8>,
}

#[test]
fn awkward_field_names() {
    let mut value = PartialValue::<Awkward>::new();
    value.push(r#"{"type": "a", "this": 1, "key": "k", "event": [2, 3]}"#);
    let partial = value.get().unwrap();
    assert_eq!(partial.r#type.as_deref(), Some("a"));
    assert_eq!((partial.this, partial.key.as_deref()), (Some(1), Some("k")));
    assert_eq!(partial.event.as_deref(), Some(&[2, 3][..]));
    assert!(format!("{partial:?}").contains("type: Some(\"a\")"));
}
