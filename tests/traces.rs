//! Traces: every call is a `tracing` span and every attempt a child span,
//! with the OpenTelemetry GenAI semantic conventions as field names,
//! captured here by a subscriber of the test's own, field by field.
//!
//! One test function: a subscriber set for a thread sees the spans of the
//! calls made on it, and tracing caches per call site which subscribers are
//! interested, so the scenarios run in sequence under one subscriber.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
use llmax_tests::{Framing, collect, fixture, fixture_lines, sse_anthropic};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLAUDE: llmax::Model = llmax::model!("claude-4.5-sonnet");

#[derive(Debug, Clone)]
struct SpanData {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
    closed: bool,
}

#[derive(Debug, Clone)]
struct EventData {
    level: Level,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    spans: Vec<SpanData>,
    events: Vec<EventData>,
    stack: Vec<u64>,
    refs: BTreeMap<u64, usize>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<State>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut state = self.0.lock().unwrap();
        let id = state.spans.len() as u64 + 1;
        let parent = match attrs.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attrs.is_contextual() => state.stack.last().copied(),
            None => None,
        };
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        state.spans.push(SpanData {
            id,
            name: attrs.metadata().name(),
            parent,
            fields,
            closed: false,
        });
        state.refs.insert(id, 1);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.0.lock().unwrap();
        let index = span.into_u64() as usize - 1;
        values.record(&mut Fields(&mut state.spans[index].fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().events.push(EventData {
            level: *event.metadata().level(),
            fields,
        });
    }

    fn enter(&self, span: &Id) {
        self.0.lock().unwrap().stack.push(span.into_u64());
    }

    fn exit(&self, _: &Id) {
        self.0.lock().unwrap().stack.pop();
    }

    fn clone_span(&self, id: &Id) -> Id {
        *self
            .0
            .lock()
            .unwrap()
            .refs
            .entry(id.into_u64())
            .or_default() += 1;
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let mut state = self.0.lock().unwrap();
        let id = id.into_u64();
        let refs = state.refs.entry(id).or_default();
        *refs = refs.saturating_sub(1);
        let closed = *refs == 0;
        if closed {
            state.spans[id as usize - 1].closed = true;
        }
        closed
    }
}

impl Capture {
    fn take(&self) -> (Vec<SpanData>, Vec<EventData>) {
        let mut state = self.0.lock().unwrap();
        let spans = state.spans.clone();
        let events = std::mem::take(&mut state.events);
        (spans, events)
    }
}

fn field<'a>(span: &'a SpanData, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

async fn openai_server(status: u16) -> MockServer {
    let server = MockServer::start().await;
    let template = if status == 200 {
        ResponseTemplate::new(200)
            .set_body_raw(fixture("openai/openai-text.json"), "application/json")
    } else {
        ResponseTemplate::new(status).set_body_raw(
            r#"{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"#,
            "application/json",
        )
    };
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn openai(endpoint: &str, label: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
        .label(label)
}

#[tokio::test(flavor = "current_thread")]
async fn calls_and_attempts_are_spans_with_the_gen_ai_field_names() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    // A call that falls back from a failing OpenAI deployment to Claude.
    let down = openai_server(503).await;
    let anthropic = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("anthropic/anthropic-text.json"), "application/json"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&anthropic)
        .await;
    let lines = fixture_lines("anthropic/anthropic-text.chunks.txt");
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(sse_anthropic(&lines, Framing::Lf), "text/event-stream"),
        )
        .with_priority(2)
        .mount(&anthropic)
        .await;
    let client = MultiAIClient::builder()
        .deployment(openai(&down.uri(), "down"))
        .deployment(
            Deployment::new(CLAUDE, Provider::Anthropic)
                .endpoint(anthropic.uri())
                .api_key("sk-ant-test")
                .label("claude"),
        )
        .fallback_models([CLAUDE])
        .cooldown(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let prompt = "Plan a secret holiday";
    let response = client
        .ainvoke(&[Message::user(prompt)], Model::Gpt4o)
        .await
        .unwrap();
    let answer = response.content().unwrap().to_owned();

    let (spans, _) = capture.take();
    let calls: Vec<&SpanData> = spans.iter().filter(|s| s.name == "llmax.call").collect();
    assert_eq!(calls.len(), 1);
    let call = calls[0];
    assert_eq!(call.parent, None);
    assert!(call.closed, "the call's span ends with the call");
    for (name, value) in [
        ("otel.name", "chat gpt-4o"),
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", "gpt-4o"),
        ("gen_ai.response.model", "claude-4.5-sonnet"),
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.usage.input_tokens", "12"),
        ("gen_ai.usage.output_tokens", "29"),
        ("server.address", "127.0.0.1"),
        ("llmax.deployment", "claude"),
        ("llmax.attempts", "2"),
        ("llmax.cost_usd", "0.000471"),
        ("llmax.operation", "ainvoke"),
    ] {
        assert_eq!(field(call, name), Some(value), "call span field {name}");
    }
    assert_eq!(field(call, "error.type"), None);

    let attempts: Vec<&SpanData> = spans.iter().filter(|s| s.name == "llmax.attempt").collect();
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|a| a.parent == Some(call.id)));
    let down_port = down.address().port().to_string();
    let claude_port = anthropic.address().port().to_string();
    for (span, expected) in attempts.iter().zip([
        [
            ("gen_ai.provider.name", Some("openai")),
            ("gen_ai.request.model", Some("gpt-4o")),
            ("server.port", Some(down_port.as_str())),
            ("llmax.deployment", Some("down")),
            ("llmax.attempt", Some("1")),
            ("http.response.status_code", Some("503")),
            ("error.type", Some("server_error")),
        ],
        [
            ("gen_ai.provider.name", Some("anthropic")),
            ("gen_ai.request.model", Some("claude-4.5-sonnet")),
            ("server.port", Some(claude_port.as_str())),
            ("llmax.deployment", Some("claude")),
            ("llmax.attempt", Some("2")),
            ("http.response.status_code", Some("200")),
            ("error.type", None),
        ],
    ]) {
        for (name, value) in expected {
            assert_eq!(field(span, name), value, "attempt span field {name}");
        }
        assert_eq!(field(span, "gen_ai.operation.name"), Some("chat"));
        assert_eq!(field(span, "server.address"), Some("127.0.0.1"));
    }
    // No prompt nor answer text in any span.
    for span in &spans {
        for value in span.fields.values() {
            assert!(!value.contains(prompt), "{value}");
            assert!(!value.contains(&answer[..20]), "{value}");
        }
    }

    // A stream: its call span is finished when the stream ends, with the
    // usage it reported.
    let stream = client
        .astream(&[Message::user(prompt)], CLAUDE)
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    let usage = chunks.iter().find_map(|c| c.usage).unwrap();
    let (spans, _) = capture.take();
    let call = spans.iter().rfind(|s| s.name == "llmax.call").unwrap();
    assert!(call.closed);
    assert_eq!(
        field(call, "gen_ai.request.model"),
        Some("claude-4.5-sonnet")
    );
    assert_eq!(
        field(call, "gen_ai.usage.output_tokens"),
        Some(usage.output_tokens.to_string().as_str())
    );

    // A failed call says why on its span.
    let bad = openai_server(400).await;
    let client = MultiAIClient::new([openai(&bad.uri(), "bad")]).unwrap();
    client
        .ainvoke(&[Message::user(prompt)], Model::Gpt4o)
        .await
        .unwrap_err();
    let (spans, _) = capture.take();
    let call = spans.iter().rfind(|s| s.name == "llmax.call").unwrap();
    assert_eq!(field(call, "error.type"), Some("bad_request"));
    assert_eq!(field(call, "otel.status_code"), Some("ERROR"));

    // A refused key is said once, as an error, however many calls follow.
    let refused = openai_server(401).await;
    let fine = openai_server(200).await;
    let client =
        MultiAIClient::new([openai(&refused.uri(), "bad-key"), openai(&fine.uri(), "ok")]).unwrap();
    for _ in 0..3 {
        client
            .ainvoke(&[Message::user(prompt)], Model::Gpt4o)
            .await
            .unwrap();
    }
    let (_, events) = capture.take();
    let said: Vec<&EventData> = events.iter().filter(|e| e.level == Level::ERROR).collect();
    assert_eq!(said.len(), 1, "{events:?}");
    assert_eq!(field_of(said[0], "deployment"), Some("bad-key"));
    assert!(field_of(said[0], "message").unwrap().contains("refused"));
    assert!(!format!("{events:?}").contains("sk-test"));

    // Prompt and answer only when the client says so.
    let client = MultiAIClient::builder()
        .deployment(openai(&fine.uri(), "ok"))
        .trace_content(true)
        .build()
        .unwrap();
    let response = client
        .ainvoke(&[Message::user(prompt)], Model::Gpt4o)
        .system("Be brief.")
        .await
        .unwrap();
    let (spans, _) = capture.take();
    let call = spans.iter().rfind(|s| s.name == "llmax.call").unwrap();
    let input: serde_json::Value =
        serde_json::from_str(field(call, "gen_ai.input.messages").unwrap()).unwrap();
    assert_eq!(input[0]["role"], "system");
    assert_eq!(input[0]["content"], "Be brief.");
    assert_eq!(input[1]["role"], "user");
    assert_eq!(input[1]["content"], prompt);
    let output: serde_json::Value =
        serde_json::from_str(field(call, "gen_ai.output.messages").unwrap()).unwrap();
    assert_eq!(output[0]["message"]["content"].as_str(), response.content());
}

fn field_of<'a>(event: &'a EventData, name: &str) -> Option<&'a str> {
    event.fields.get(name).map(String::as_str)
}
