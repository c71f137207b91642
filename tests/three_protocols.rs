//! The same caller code against an OpenAI, an Anthropic and a Gemini
//! deployment, each answering with its own wire format the same thing,
//! gives equal text, streamed text, tool calls, typed output and usage.

use futures_util::StreamExt;
use llmax::{
    Deployment, FinishReason, Message, Model, MultiAIClient, Provider, StreamChunk, Tool, Usage,
};
use serde_json::{Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

/// What the caller asks: the reply depends on it (and on whether the
/// request streams).
#[derive(Clone, Copy)]
enum Ask {
    Text,
    Tool,
    Typed,
}

impl Ask {
    fn of(request: &Request) -> Ask {
        let body = String::from_utf8_lossy(&request.body);
        if body.contains("ASK-TOOL") {
            Ask::Tool
        } else if body.contains("ASK-TYPED") {
            Ask::Typed
        } else {
            Ask::Text
        }
    }
}

/// Each protocol's reply, equivalent to the others': 10 tokens in, 5 out.
struct Provider3(Wire);

fn sse(events: &[(&str, Value)], done: bool) -> ResponseTemplate {
    let mut body = String::new();
    for (kind, data) in events {
        if !kind.is_empty() {
            body.push_str(&format!("event: {kind}\n"));
        }
        body.push_str(&format!("data: {data}\n\n"));
    }
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

impl Respond for Provider3 {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let text = String::from_utf8_lossy(&request.body);
        let stream = text.contains("\"stream\":true")
            || request.url.path().contains("streamGenerateContent");
        let ask = Ask::of(request);
        match (self.0, stream) {
            (Wire::OpenAi, false) => {
                let message = match ask {
                    Ask::Text => json!({"role": "assistant", "content": "Paris is sunny."}),
                    Ask::Typed => json!({"role": "assistant", "content": "{\"count\":3}"}),
                    Ask::Tool => json!({"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
                    ]}),
                };
                let finish = if matches!(ask, Ask::Tool) {
                    "tool_calls"
                } else {
                    "stop"
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
                }))
            }
            (Wire::OpenAi, true) => {
                let chunk = |delta: Value, finish: Value| {
                    (
                        "",
                        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
                    )
                };
                sse(
                    &[
                        chunk(
                            json!({"role": "assistant", "content": "Paris is "}),
                            Value::Null,
                        ),
                        chunk(json!({"content": "sunny."}), json!("stop")),
                        (
                            "",
                            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                            "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
                        ),
                    ],
                    true,
                )
            }
            (Wire::Anthropic, false) => {
                let (content, stop) = match ask {
                    Ask::Text => (
                        json!([{"type": "text", "text": "Paris is sunny."}]),
                        "end_turn",
                    ),
                    Ask::Typed => (
                        json!([{"type": "tool_use", "id": "toolu_2", "name": "Answer", "input": {"count": 3}}]),
                        "tool_use",
                    ),
                    Ask::Tool => (
                        json!([{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]),
                        "tool_use",
                    ),
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                    "content": content, "stop_reason": stop, "usage": {"input_tokens": 10, "output_tokens": 5}
                }))
            }
            (Wire::Anthropic, true) => sse(
                &[
                    (
                        "message_start",
                        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
                        "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
                        "usage": {"input_tokens": 10, "output_tokens": 1}}}),
                    ),
                    (
                        "content_block_start",
                        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                    ),
                    (
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paris is "}}),
                    ),
                    (
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "sunny."}}),
                    ),
                    (
                        "content_block_stop",
                        json!({"type": "content_block_stop", "index": 0}),
                    ),
                    (
                        "message_delta",
                        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
                    ),
                    ("message_stop", json!({"type": "message_stop"})),
                ],
                false,
            ),
            (Wire::Gemini, false) => {
                let part = match ask {
                    Ask::Text => json!({"text": "Paris is sunny."}),
                    Ask::Typed => json!({"text": "{\"count\":3}"}),
                    Ask::Tool => {
                        json!({"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"})
                    }
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
                    "modelVersion": "gemini-2.5-flash", "responseId": "r1"
                }))
            }
            (Wire::Gemini, true) => sse(
                &[
                    (
                        "",
                        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris is "}]}, "index": 0}],
                        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2}}),
                    ),
                    (
                        "",
                        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "sunny."}]}, "finishReason": "STOP", "index": 0}],
                        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}),
                    ),
                ],
                false,
            ),
        }
    }
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Answer {
    /// How many.
    count: u32,
}

/// What the caller sees.
#[derive(Debug, PartialEq)]
struct Seen {
    text: String,
    text_finish: Option<FinishReason>,
    usage: Usage,
    streamed: String,
    streamed_usage: Option<Usage>,
    calls: Vec<(String, Value)>,
    calls_finish: Option<FinishReason>,
    typed: Answer,
}

/// The caller's code, the same for every deployment.
async fn caller(client: &MultiAIClient, model: Model) -> Seen {
    let question = [Message::user("Weather in Paris?")];
    let response = client.ainvoke(&question, model).await.unwrap();
    let mut stream = client.astream(&question, model).await.unwrap();
    let mut chunks: Vec<StreamChunk> = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk.unwrap());
    }
    let weather = Tool::new(
        "weather",
        "Weather by city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    let called = client
        .ainvoke(&[Message::user("ASK-TOOL")], model)
        .tools([weather])
        .await
        .unwrap();
    let typed: Answer = client
        .ainvoke_typed(&[Message::user("ASK-TYPED")], model)
        .await
        .unwrap();
    Seen {
        text: response.content().unwrap_or_default().to_owned(),
        text_finish: response.finish_reason().cloned(),
        usage: response.usage,
        streamed: chunks.iter().filter_map(|c| c.content.as_deref()).collect(),
        streamed_usage: chunks.iter().rev().find_map(|c| c.usage),
        calls: called
            .tool_calls()
            .iter()
            .map(|call| {
                (
                    call.function.name.clone(),
                    serde_json::from_str(&call.function.arguments).unwrap(),
                )
            })
            .collect(),
        calls_finish: called.finish_reason().cloned(),
        typed,
    }
}

#[tokio::test]
async fn same_caller_code_same_result_on_three_protocols() {
    let mut seen = Vec::new();
    for (wire, model, provider) in [
        (Wire::OpenAi, Model::Gpt4o, Provider::OpenAi),
        (Wire::Anthropic, Model::Claude4_5Sonnet, Provider::Anthropic),
        (Wire::Gemini, Model::Gemini2_5Flash, Provider::Gemini),
    ] {
        let server = MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(Provider3(wire))
            .mount(&server)
            .await;
        let client = MultiAIClient::new([Deployment::new(model, provider)
            .endpoint(server.uri())
            .api_key("k")])
        .unwrap();
        seen.push((wire, caller(&client, model).await));
    }
    let expected = Seen {
        text: "Paris is sunny.".into(),
        text_finish: Some(FinishReason::Stop),
        usage: Usage::new(10, 5),
        streamed: "Paris is sunny.".into(),
        streamed_usage: Some(Usage::new(10, 5)),
        calls: vec![("weather".into(), json!({"city": "Paris"}))],
        calls_finish: Some(FinishReason::ToolCalls),
        typed: Answer { count: 3 },
    };
    for (wire, seen) in seen {
        assert_eq!(seen, expected, "{wire:?}");
    }
}
