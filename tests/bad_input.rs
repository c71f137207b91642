//! Bad input from a provider, through the public API: every case ends in a
//! typed error or a documented answer, never a panic, an abort, a hang or
//! a silently wrong answer. Integration tests build in debug, where integer
//! overflow panics, so a wrapping sum would fail here.

use llmax::{Deployment, Message, Model, Provider, StreamChunk, ToolCallCollector, ToolCallDelta};
use llmax_tests::{RawServer, Reply, client_with, collect};

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
    StreamChunk {
        tool_calls: vec![ToolCallDelta {
            index,
            id: id.map(str::to_owned),
            name: name.map(str::to_owned),
            arguments: Some(arguments.to_owned()),
        }],
        ..StreamChunk::default()
    }
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
