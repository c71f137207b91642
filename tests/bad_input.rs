//! Bad input from a provider, through the public API: every case ends in a
//! typed error or a documented answer, never a panic, an abort, a hang or
//! a silently wrong answer. Integration tests build in debug, where integer
//! overflow panics, so a wrapping sum would fail here.

use llmax::{
    Deployment, Error, Message, Model, Provider, StreamChunk, ToolCallCollector, ToolCallDelta,
    Usage, UsageRecord, Usd,
};
use llmax_tests::{RawServer, Reply, client_with, collect, fixture, text_of};
use serde_json::json;

fn openai(endpoint: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
}

fn hello() -> Vec<Message> {
    vec![Message::user("Hello")]
}

/// One `data:` event per line, as OpenAI frames a stream.
fn openai_sse(events: &[serde_json::Value]) -> Vec<u8> {
    let mut body = String::new();
    for event in events {
        body.push_str(&format!("data: {event}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}

// ---- 1. a tool-call index of u32::MAX ----

fn delta(index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) -> StreamChunk {
    let mut delta = ToolCallDelta::new(index).with_arguments(arguments);
    if let Some(id) = id {
        delta = delta.with_id(id);
    }
    if let Some(name) = name {
        delta = delta.with_name(name);
    }
    let mut chunk = StreamChunk::default();
    chunk.tool_calls.push(delta);
    chunk
}

#[test]
fn collector_keeps_a_u32_max_index_without_sizing_memory_by_it() {
    let mut collector = ToolCallCollector::default();
    collector.push(&delta(u32::MAX, Some("last"), Some("g"), "{\"b\""));
    collector.push(&delta(0, Some("first"), Some("f"), "{}"));
    collector.push(&delta(u32::MAX, None, None, ":2}"));
    let calls = collector.finish();
    // Two calls, in index order, and no empty call for the indices between.
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].function.name.as_str()),
        ("first", "f")
    );
    assert_eq!(calls[0].function.arguments, "{}");
    assert_eq!(
        (calls[1].id.as_str(), calls[1].function.name.as_str()),
        ("last", "g")
    );
    assert_eq!(calls[1].function.arguments, "{\"b\":2}");
}

#[tokio::test]
async fn streamed_tool_call_index_u32_max_through_the_client() {
    let call = |index: u64, id: Option<&str>, name: Option<&str>, arguments: &str| {
        let mut function = serde_json::json!({ "arguments": arguments });
        if let Some(name) = name {
            function["name"] = name.into();
        }
        let mut tool_call = serde_json::json!({ "index": index, "function": function });
        if let Some(id) = id {
            tool_call["id"] = id.into();
            tool_call["type"] = "function".into();
        }
        serde_json::json!({
            "id": "chatcmpl-1",
            "model": "gpt-4o",
            "choices": [{ "index": 0, "delta": { "tool_calls": [tool_call] }, "finish_reason": null }]
        })
    };
    let body = openai_sse(&[
        call(
            4_294_967_295,
            Some("call_max"),
            Some("weather"),
            "{\"city\"",
        ),
        call(4_294_967_295, None, None, ": \"Paris\"}"),
        serde_json::json!({
            "id": "chatcmpl-1",
            "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }]
        }),
    ]);
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, records) = client_with(openai(&server.url));
    let stream = client.astream(&hello(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    let mut collector = ToolCallCollector::default();
    chunks.iter().for_each(|chunk| collector.push(chunk));
    let calls = collector.finish();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_max");
    assert_eq!(calls[0].function.name, "weather");
    assert_eq!(calls[0].function.arguments, "{\"city\": \"Paris\"}");
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn gateway_tool_call_at_index_1_is_the_only_call() {
    // A real gateway stream: text (Anthropic's block 0), then the one tool
    // call at index 1. Sized by index, the collector used to add an empty
    // call at 0, which a tool loop would then try to run.
    let body = fixture("openai-compatible/anthropic-fallback-tool-call.sse");
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, _) = client_with(openai(&server.url));
    let stream = client.astream(&hello(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    let mut collector = ToolCallCollector::default();
    chunks.iter().for_each(|chunk| collector.push(chunk));
    let calls = collector.finish();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].id, "toolu_sanitized");
    assert_eq!(calls[0].function.name, "read_file");
    assert_eq!(calls[0].function.arguments, "{\"path\": \"a.txt\"}");
}

// ---- 2. token counts near u64::MAX ----

const MAX: u64 = u64::MAX;

fn claude(endpoint: &str) -> Deployment {
    Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
        .endpoint(endpoint)
        .api_key("sk-ant-test")
}

/// `event: TYPE` + `data:` per event, as Anthropic frames a stream.
fn anthropic_sse(events: &[serde_json::Value]) -> Vec<u8> {
    let mut body = String::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or("message");
        body.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    body.into_bytes()
}

/// Every count of a usage, in a fixed order, to compare in one assert.
fn counts(usage: &Usage) -> [u64; 5] {
    [
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    ]
}

fn record_counts(record: &UsageRecord) -> [u64; 5] {
    counts(&record.usage())
}

fn openai_huge_usage() -> serde_json::Value {
    json!({
        "prompt_tokens": MAX,
        "completion_tokens": MAX,
        "prompt_tokens_details": { "cached_tokens": MAX - 1 },
        "completion_tokens_details": { "reasoning_tokens": MAX }
    })
}

#[test]
fn usage_sums_and_costs_saturate() {
    let huge = Usage::new(MAX - 1, MAX)
        .with_cached_input_tokens(7)
        .with_cache_write_tokens(MAX)
        .with_reasoning_tokens(2);
    let mut sum = huge + huge;
    assert_eq!(counts(&sum), [MAX, MAX, 14, MAX, 4]);
    sum = sum + huge;
    assert_eq!(counts(&sum), [MAX, MAX, 21, MAX, 6]);
    let price = Model::Gpt4o.price(Provider::OpenAi).unwrap();
    assert_eq!(sum.cost(&price), Usd::from_picos(MAX));
    assert_eq!(
        Usd::from_picos(MAX) + Usd::from_picos(1),
        Usd::from_picos(MAX)
    );
    assert_eq!(
        [Usd::from_picos(MAX); 3].into_iter().sum::<Usd>(),
        Usd::from_picos(MAX)
    );
}

#[tokio::test]
async fn openai_huge_usage_saturates_in_responses_and_records() {
    let body = json!({
        "id": "chatcmpl-1",
        "model": "gpt-4o",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "Hi" }, "finish_reason": "stop" }],
        "usage": openai_huge_usage()
    });
    let server = RawServer::start(vec![Reply::json(200, body.to_string().into_bytes())]).await;
    let (client, records) = client_with(openai(&server.url));
    let response = client.ainvoke(&hello(), Model::Gpt4o).await.unwrap();
    assert_eq!(counts(&response.usage), [MAX, MAX, MAX - 1, 0, MAX]);
    assert_eq!(response.cost, Usd::from_picos(MAX));
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(record_counts(&records[0]), [MAX, MAX, MAX - 1, 0, MAX]);
    assert_eq!(records[0].cost, Usd::from_picos(MAX));
}

#[tokio::test]
async fn openai_huge_streamed_usage_saturates() {
    let body = openai_sse(&[
        json!({"id": "c", "choices": [{ "index": 0, "delta": { "content": "Hi" }, "finish_reason": null }]}),
        json!({"id": "c", "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }]}),
        json!({"id": "c", "choices": [], "usage": openai_huge_usage()}),
    ]);
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, records) = client_with(openai(&server.url));
    let stream = client.astream(&hello(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    let last = chunks.last().unwrap();
    assert_eq!(counts(&last.usage.unwrap()), [MAX, MAX, MAX - 1, 0, MAX]);
    assert_eq!(last.cost, Some(Usd::from_picos(MAX)));
    let records = records.wait_for(1).await;
    assert_eq!(record_counts(&records[0]), [MAX, MAX, MAX - 1, 0, MAX]);
    assert_eq!(records[0].cost, Usd::from_picos(MAX));
}

#[tokio::test]
async fn anthropic_huge_usage_saturates_in_responses_and_records() {
    let body = json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{ "type": "text", "text": "Hi" }],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": MAX,
            "cache_read_input_tokens": MAX,
            "cache_creation_input_tokens": 3,
            "output_tokens": MAX
        }
    });
    let server = RawServer::start(vec![Reply::json(200, body.to_string().into_bytes())]).await;
    let (client, records) = client_with(claude(&server.url));
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    // Anthropic counts cache reads and writes apart: llmax adds them to the
    // input, which saturates instead of wrapping.
    assert_eq!(counts(&response.usage), [MAX, MAX, MAX, 3, 0]);
    assert_eq!(response.cost, Usd::from_picos(MAX));
    let records = records.all();
    assert_eq!(record_counts(&records[0]), [MAX, MAX, MAX, 3, 0]);
    assert_eq!(records[0].cost, Usd::from_picos(MAX));
}

#[tokio::test]
async fn anthropic_huge_streamed_usage_saturates() {
    let body = anthropic_sse(&[
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "usage": {"input_tokens": MAX, "cache_creation_input_tokens": MAX, "cache_read_input_tokens": 1, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": MAX}}),
        json!({"type": "message_stop"}),
    ]);
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, records) = client_with(claude(&server.url));
    let stream = client
        .astream(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    let last = chunks.last().unwrap();
    assert_eq!(counts(&last.usage.unwrap()), [MAX, MAX, 1, MAX, 0]);
    assert_eq!(last.cost, Some(Usd::from_picos(MAX)));
    let records = records.wait_for(1).await;
    assert_eq!(record_counts(&records[0]), [MAX, MAX, 1, MAX, 0]);
    assert_eq!(records[0].cost, Usd::from_picos(MAX));
}

/// Looks up the weather of a place.
#[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "weather")]
struct Weather {
    /// The place.
    location: String,
}

#[tokio::test]
async fn run_tools_sums_huge_usage_saturating() {
    let round = |message: serde_json::Value, finish: &str| {
        json!({
            "id": "chatcmpl-1",
            "model": "gpt-4o",
            "choices": [{ "index": 0, "message": message, "finish_reason": finish }],
            "usage": { "prompt_tokens": MAX - 1, "completion_tokens": MAX / 2 + 1 }
        })
        .to_string()
        .into_bytes()
    };
    let calling = json!({"role": "assistant", "content": null, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "weather", "arguments": "{\"location\": \"Paris\"}"}
    }]});
    let answer = json!({"role": "assistant", "content": "Sunny."});
    let server = RawServer::start(vec![
        Reply::json(200, round(calling, "tool_calls")),
        Reply::json(200, round(answer, "stop")),
    ])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let tools = llmax::Toolbox::new().tool(|args: Weather| async move {
        Ok::<_, String>(json!({ "location": args.location, "sky": "sunny" }))
    });
    let run = client
        .ainvoke(&hello(), Model::Gpt4o)
        .run_tools(&tools)
        .await
        .unwrap();
    assert_eq!(run.rounds, 2);
    assert_eq!(run.response.content(), Some("Sunny."));
    // Each round alone is below u64::MAX; their sums are not.
    assert_eq!(counts(&run.usage), [MAX, MAX, 0, 0, 0]);
    assert_eq!(run.cost, Usd::from_picos(MAX));
    let records = records.all();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record_counts(record), [MAX - 1, MAX / 2 + 1, 0, 0, 0]);
    }
}

// ---- 3. Anthropic events out of protocol order ----

fn message_start(id: &str) -> serde_json::Value {
    json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
        "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}})
}

fn text_block(index: u32, text: &str) -> [serde_json::Value; 3] {
    [
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": index}),
    ]
}

fn message_end() -> [serde_json::Value; 2] {
    [
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop"}),
    ]
}

/// Streams `events` from a local server: the chunks, the error that ended
/// the stream, and the usage records.
async fn anthropic_stream(
    events: Vec<serde_json::Value>,
) -> (Vec<StreamChunk>, Option<Error>, Vec<UsageRecord>) {
    let server = RawServer::start(vec![Reply::sse(anthropic_sse(&events))]).await;
    let (client, records) = client_with(claude(&server.url));
    let stream = client
        .astream(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    (chunks, error, records.wait_for(1).await)
}

fn decode_message(error: Option<Error>) -> String {
    match error {
        Some(Error::Decode {
            provider, message, ..
        }) => {
            assert_eq!(provider, "anthropic");
            message
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn anthropic_well_ordered_stream_still_decodes() {
    let mut events = vec![message_start("msg_A")];
    events.extend(text_block(0, "Hello"));
    events.extend(text_block(1, " world"));
    events.extend(message_end());
    let (chunks, error, records) = anthropic_stream(events).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&chunks), "Hello world");
    assert!(records[0].succeeded);
}

#[tokio::test]
async fn anthropic_delta_for_a_block_that_never_started_is_a_decode_error() {
    let mut events = vec![message_start("msg_A")];
    events.extend(text_block(0, "Hello"));
    events.push(json!({"type": "content_block_delta", "index": 7,
        "delta": {"type": "text_delta", "text": " from nowhere"}}));
    events.extend(message_end());
    let (chunks, error, records) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("content block 7, which never started"),
        "{message}"
    );
    assert_eq!(text_of(&chunks), "Hello");
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn anthropic_tool_json_for_a_block_that_never_started_is_a_decode_error() {
    // Before, this fragment was dropped silently: a call would have lost
    // part of its arguments.
    let events = vec![
        message_start("msg_A"),
        json!({"type": "content_block_delta", "index": 4294967295u64,
            "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}}),
    ];
    let (_, error, _) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("content block 4294967295, which never started"),
        "{message}"
    );
}

#[tokio::test]
async fn anthropic_delta_after_its_block_stopped_is_a_decode_error() {
    let mut events = vec![message_start("msg_A")];
    events.extend(text_block(0, "Hello"));
    events.push(json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": " again"}}));
    let (_, error, _) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("content block 0 after its `content_block_stop`"),
        "{message}"
    );
}

#[tokio::test]
async fn anthropic_second_message_start_is_a_decode_error_not_a_merged_answer() {
    let mut events = vec![message_start("msg_A")];
    events.extend(text_block(0, "First answer."));
    events.push(message_start("msg_B"));
    events.extend(text_block(0, "Second answer."));
    events.extend(message_end());
    let (chunks, error, records) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("a second `message_start` (message `msg_B`) inside message `msg_A`"),
        "{message}"
    );
    // Nothing of the second message reached the caller.
    assert_eq!(text_of(&chunks), "First answer.");
    assert!(chunks.iter().all(|chunk| chunk.finish_reason.is_none()));
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn anthropic_events_after_message_stop_are_a_decode_error() {
    let mut events = vec![message_start("msg_A")];
    events.extend(text_block(0, "First answer."));
    events.extend(message_end());
    events.push(message_start("msg_B"));
    events.extend(text_block(0, "Second answer."));
    events.extend(message_end());
    let (chunks, error, records) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("a `message_start` event after the end of the stream"),
        "{message}"
    );
    assert_eq!(text_of(&chunks), "First answer.");
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn anthropic_content_before_message_start_is_a_decode_error() {
    let mut events = text_block(0, "Orphan").to_vec();
    events.push(message_start("msg_A"));
    let (chunks, error, _) = anthropic_stream(events).await;
    let message = decode_message(error);
    assert!(
        message.contains("`content_block_start` before `message_start`"),
        "{message}"
    );
    assert!(chunks.is_empty());
}

#[tokio::test]
async fn openai_event_after_done_is_a_decode_error() {
    let mut body = openai_sse(&[
        json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}),
    ]);
    body.extend_from_slice(
        format!(
            "data: {}\n\n",
            json!({"id": "d", "choices": [{"index": 0, "delta": {"content": "Other"}}]})
        )
        .as_bytes(),
    );
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, _) = client_with(openai(&server.url));
    let stream = client.astream(&hello(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(text_of(&chunks), "Hi");
    match error {
        Some(Error::Decode { message, .. }) => {
            assert!(message.contains("after the end of the stream"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ---- 5. Usd written as money ----

#[tokio::test]
async fn budgets_read_as_money() {
    let budget: Usd = "0.25".parse().unwrap();
    let client = llmax::MultiAIClient::builder()
        .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
        .get_usage(|| async { Some(Usd::dollars(1)) })
        .budget(budget)
        .build()
        .unwrap();
    match client.ainvoke(&hello(), Model::Gpt4o).await {
        Err(Error::Budget { spent, budget }) => {
            assert_eq!(spent.to_string(), "$1");
            assert_eq!(budget.to_string(), "$0.25");
        }
        other => panic!("expected a budget error, got {other:?}"),
    }
    // More precision than a pico-dollar is refused, not rounded.
    let error = "0.2500000000001".parse::<Usd>().unwrap_err();
    assert_eq!(error.kind(), &llmax::catalog::ParseUsdErrorKind::TooPrecise);
    assert_eq!("0.250000000000".parse::<Usd>(), Ok(budget));
}
