//! Anthropic's Messages protocol behind the same client API, on the
//! recorded bodies and streams of `tests/fixtures/anthropic`.

use std::time::Duration;

use llmax::{
    CacheBreakpoint, ChatResponse, ContentPart, Deployment, Error, FinishReason, Message, Model,
    MultiAIClient, PromptCache, Provider, ProviderErrorKind, StreamChunk, ToolCall, Usage,
    UsageRecord, Usd,
};
use llmax_tests::{
    Framing, RawServer, Reply, client_with, collect, fixture, fixture_lines, sse_anthropic,
    sse_openai, text_of,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn claude(endpoint: &str) -> Deployment {
    Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
        .endpoint(endpoint)
        .api_key("sk-ant-test")
}

/// claude-4.5-sonnet on Anthropic, in micro-dollars per token:
/// 3 input, 0.3 cache read, 3.75 cache write, 15 output.
fn sonnet_cost(input: u64, read: u64, written: u64, output: u64) -> Usd {
    let uncached = input - read - written;
    Usd::from_picos(
        uncached * 3_000_000 + read * 300_000 + written * 3_750_000 + output * 15_000_000,
    )
}

fn hello() -> Vec<Message> {
    vec![Message::user("Hello, how are you?")]
}

/// Tool calls assembled from stream fragments: (id, name, arguments) by index.
fn tool_calls_of(chunks: &[StreamChunk]) -> Vec<(String, String, String)> {
    let mut collector = llmax::ToolCallCollector::default();
    chunks.iter().for_each(|chunk| collector.push(chunk));
    collector
        .finish()
        .into_iter()
        .map(|call| (call.id, call.function.name, call.function.arguments))
        .collect()
}

#[tokio::test]
async fn plain_reply_with_headers_usage_and_cost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("anthropic/anthropic-text.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, records) = client_with(claude(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    assert_eq!(
        response.content(),
        Some(
            "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?"
        )
    );
    assert_eq!(response.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(response.model, "claude-sonnet-4-5-20250929");
    assert_eq!(response.usage, Usage::new(12, 29));
    assert_eq!(response.cost, sonnet_cost(12, 0, 0, 29));
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].provider, "anthropic");
    assert_eq!(records[0].cost, response.cost);
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("authorization").is_none());
    let body: Value = request.body_json().unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(
        body["max_tokens"], 64000,
        "the manifest's max output by default"
    );
}

async fn sent_body(
    messages: &[Message],
    call: impl FnOnce(llmax::Call<'_, llmax::Invoke>) -> llmax::Call<'_, llmax::Invoke>,
) -> Value {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("anthropic/anthropic-text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let (client, _) = client_with(claude(&server.uri()));
    call(client.ainvoke(messages, Model::Claude4_5Sonnet))
        .await
        .unwrap();
    server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap()
}

#[tokio::test]
async fn request_translation() {
    const PNG: &str = "data:image/png;base64,iVBORw0KGgo=";
    let messages = vec![
        Message::system("You are terse."),
        Message::user("Look at these."),
        Message::user_parts([
            ContentPart::image_url(PNG),
            ContentPart::image_url("https://example.com/cat.jpg"),
        ]),
        Message::assistant_tool_calls([ToolCall::function(
            "toolu_1",
            "weather",
            r#"{"city":"Paris"}"#,
        )]),
        Message::tool("toolu_1", r#"{"celsius":21}"#),
        Message::developer("Answer in French."),
        Message::user("So?"),
    ];
    let body = sent_body(&messages, |call| {
        call.system("Be kind.")
            .temperature(0.3)
            .top_p(0.9)
            .max_tokens(300)
            .stop(["END"])
            .seed(7)
            .tools([llmax::Tool::new(
                "weather",
                "Weather by city",
                json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            )])
            .tool_choice(llmax::ToolChoice::Required)
            .extra("top_k", 5)
    })
    .await;
    // Auto caching: system, last tool and the last two turns (four, the limit).
    let ephemeral = json!({"type": "ephemeral"});
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 300,
            "system": [
                {"type": "text", "text": "Be kind."},
                {"type": "text", "text": "You are terse."},
                {"type": "text", "text": "Answer in French.", "cache_control": ephemeral},
            ],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look at these."},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}, "cache_control": ephemeral},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"celsius\":21}"},
                    {"type": "text", "text": "So?", "cache_control": ephemeral},
                ]},
            ],
            "temperature": 0.3,
            "top_p": 0.9,
            "stop_sequences": ["END"],
            "tools": [{"name": "weather", "description": "Weather by city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}, "cache_control": ephemeral}],
            "tool_choice": {"type": "any"},
            "top_k": 5,
        })
    );
}

#[tokio::test]
async fn caller_placed_cache_breakpoints() {
    let messages = vec![
        Message::user("A long document..."),
        Message::assistant("Read."),
        Message::user("Summarise it."),
    ];
    let body = sent_body(&messages, |call| {
        call.system("S")
            .prompt_cache(PromptCache::At(vec![CacheBreakpoint::Message(0)]))
    })
    .await;
    assert_eq!(
        body["messages"][0]["content"][0]["cache_control"]["type"],
        "ephemeral"
    );
    assert!(
        body["messages"][2]["content"][0]
            .get("cache_control")
            .is_none()
    );
    assert!(body["system"][0].get("cache_control").is_none());

    let body = sent_body(&messages, |call| {
        call.system("S").prompt_cache(PromptCache::Off)
    })
    .await;
    assert!(!body.to_string().contains("cache_control"));
    // Auto: the system prompt and the last two messages.
    let body = sent_body(&messages, |call| call.system("S")).await;
    assert_eq!(body.to_string().matches("cache_control").count(), 3);
    assert!(
        body["messages"][0]["content"][0]
            .get("cache_control")
            .is_none()
    );
}

#[tokio::test]
async fn refused_requests_never_reach_the_network() {
    let (client, records) = client_with(claude("http://127.0.0.1:9"));
    let five = PromptCache::At(vec![
        CacheBreakpoint::System,
        CacheBreakpoint::Tools,
        CacheBreakpoint::Message(0),
        CacheBreakpoint::Message(0),
        CacheBreakpoint::Message(0),
    ]);
    let cases: Vec<(Vec<Message>, llmax::CallOptions, &str)> = vec![
        (
            vec![Message::user_parts([ContentPart::input_audio(
                "UklGRg==", "wav",
            )])],
            Default::default(),
            "do not read audio",
        ),
        (
            hello(),
            llmax::CallOptions::new().prompt_cache(five),
            "at most 4",
        ),
        (
            hello(),
            llmax::CallOptions::new()
                .prompt_cache(PromptCache::At(vec![CacheBreakpoint::Message(3)])),
            "there are 1 messages",
        ),
        (
            vec![Message::system("only a system prompt")],
            Default::default(),
            "no user or assistant message",
        ),
        (
            hello(),
            llmax::CallOptions::new().extra("n", 2),
            "one choice",
        ),
        (
            vec![Message::assistant_tool_calls([ToolCall::function(
                "t",
                "f",
                "{not json",
            )])],
            Default::default(),
            "are not JSON",
        ),
    ];
    for (messages, options, expected) in cases {
        let error = client
            .ainvoke(&messages, Model::Claude4_5Sonnet)
            .options(options)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error}");
    }
    assert!(records.all().is_empty());
}

async fn stream_from(body: Vec<u8>) -> (Vec<StreamChunk>, Option<Error>, Vec<UsageRecord>) {
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, records) = client_with(claude(&server.url));
    let stream = client
        .astream(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    let request = server.received()[0].json();
    assert_eq!(request["stream"], true);
    let records = records.all();
    (chunks, error, records)
}

#[tokio::test]
async fn text_stream_in_every_framing_and_split() {
    let lines = fixture_lines("anthropic/anthropic-text.chunks.txt");
    let expected = "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?";
    for framing in Framing::ALL {
        let (chunks, error, records) = stream_from(sse_anthropic(&lines, framing)).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(text_of(&chunks), expected);
        let last = chunks.last().unwrap();
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert_eq!(last.usage, Some(Usage::new(12, 30)));
        assert_eq!(last.cost, Some(sonnet_cost(12, 0, 0, 30)));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].cost, sonnet_cost(12, 0, 0, 30));
    }
    let body = sse_anthropic(&lines, Framing::CrLf);
    for size in [1, 5, 64] {
        let server = RawServer::start(vec![Reply::sse_split(&body, size)]).await;
        let (client, _) = client_with(claude(&server.url));
        let (chunks, error) = collect(
            client
                .astream(&hello(), Model::Claude4_5Sonnet)
                .await
                .unwrap(),
        )
        .await;
        assert!(error.is_none());
        assert_eq!(text_of(&chunks), expected, "size {size}");
    }
}

#[tokio::test]
async fn tool_use_stream_assembles_arguments() {
    let lines = fixture_lines("anthropic/anthropic-json-tool.1.chunks.txt");
    let (chunks, error, records) = stream_from(sse_anthropic(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    let calls = tool_calls_of(&chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "toolu_01KFbKqPYSuAKujiL6mTfzYA");
    assert_eq!(calls[0].1, "json");
    let arguments: Value = serde_json::from_str(&calls[0].2).unwrap();
    assert_eq!(arguments["elements"][0]["location"], "San Francisco");
    assert_eq!(
        chunks.last().unwrap().finish_reason,
        Some(FinishReason::ToolCalls)
    );
    assert_eq!(records[0].input_tokens, 849);
    assert_eq!(records[0].output_tokens, 47);
}

#[tokio::test]
async fn whole_tool_use_reply() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("anthropic/anthropic-json-tool.1.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (client, _) = client_with(claude(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let call = &response.tool_calls()[0];
    assert_eq!(call.id, "toolu_01Q9ExVZnzZj7E2QQYHYtNUa");
    assert_eq!(call.function.name, "json");
    let arguments: Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert_eq!(arguments["elements"][3]["location"], "Berlin");
    assert_eq!(response.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(response.content(), None);
}

#[tokio::test]
async fn input_tokens_arriving_in_message_delta() {
    let lines = fixture_lines("anthropic/anthropic-message-delta-input-tokens.chunks.txt");
    let (chunks, error, records) = stream_from(sse_anthropic(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    assert_eq!(text_of(&chunks), "pong");
    assert_eq!(records[0].input_tokens, 61);
    assert_eq!(records[0].output_tokens, 2);
}

#[tokio::test]
async fn refusals_whole_and_streamed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("anthropic/anthropic-refusal.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (client, _) = client_with(claude(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    assert_eq!(response.finish_reason(), Some(&FinishReason::Refusal));
    assert!(
        response.choices[0]
            .message
            .refusal
            .as_deref()
            .unwrap()
            .contains("Usage Policy")
    );

    let lines = fixture_lines("anthropic/anthropic-refusal.chunks.txt");
    let (chunks, error, records) = stream_from(sse_anthropic(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason, Some(FinishReason::Refusal));
    assert!(last.refusal.as_deref().unwrap().contains("Usage Policy"));
    assert_eq!(records[0].output_tokens, 5);
}

#[tokio::test]
async fn error_event_mid_stream_ends_it_typed_and_usage_is_still_reported() {
    let lines = fixture_lines("anthropic/anthropic-text.chunks.txt");
    let mut body = sse_anthropic(&lines[..5], Framing::Lf);
    body.extend_from_slice(
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    let (chunks, error, records) = stream_from(body).await;
    assert_eq!(text_of(&chunks), "Hello! I");
    let Some(Error::Provider(error)) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.kind, ProviderErrorKind::Overloaded);
    assert_eq!(error.message, "Overloaded");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].input_tokens, 12, "usage from message_start");
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn overloaded_529_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(529).set_body_string(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("anthropic/anthropic-text.json"), "application/json"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, records) = client_with(claude(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .tries(2)
        .delay(Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(response.usage.output_tokens, 29);
    assert_eq!(records.all()[0].attempts, 2);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with(claude(&server.uri()));
    let error = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .tries(3)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!()
    };
    assert_eq!(error.kind, ProviderErrorKind::Auth);
    assert_eq!(error.code.as_deref(), Some("authentication_error"));
}

/// The OpenAI-protocol twin of an Anthropic reply: the same content, tool
/// calls and usage, in chat-completions form (whole and streamed).
fn openai_twin(anthropic: &Value) -> (Value, Vec<String>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in anthropic["content"].as_array().unwrap() {
        match block["type"].as_str().unwrap() {
            "text" => text.push_str(block["text"].as_str().unwrap()),
            "tool_use" => calls.push(json!({
                "id": block["id"], "type": "function",
                "function": {"name": block["name"], "arguments": block["input"].to_string()}
            })),
            _ => {}
        }
    }
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let usage = json!({
        "prompt_tokens": anthropic["usage"]["input_tokens"],
        "completion_tokens": anthropic["usage"]["output_tokens"],
    });
    let mut message = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    let whole = json!({
        "id": anthropic["id"], "model": anthropic["model"], "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    });
    let mut lines = Vec::new();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": anthropic["id"], "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    for word in text.split_inclusive(' ') {
        lines.push(chunk(json!({"content": word}), Value::Null));
    }
    for (index, call) in calls.iter().enumerate() {
        lines.push(chunk(json!({"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]}), Value::Null));
        let arguments = call["function"]["arguments"].as_str().unwrap();
        for piece in arguments.as_bytes().chunks(7) {
            let piece = String::from_utf8_lossy(piece);
            lines.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                Value::Null,
            ));
        }
    }
    lines.push(chunk(json!({}), json!(finish)));
    lines.push(json!({"id": anthropic["id"], "object": "chat.completion.chunk", "choices": [], "usage": usage}).to_string());
    (whole, lines)
}

/// What the caller sees: whole response and streamed result.
#[derive(Debug, PartialEq)]
struct Seen {
    content: Option<String>,
    tool_calls: Vec<(String, String, Value)>,
    finish: Option<FinishReason>,
    usage: Usage,
    streamed_text: String,
    streamed_calls: Vec<(String, String, Value)>,
    streamed_usage: Option<Usage>,
}

/// The caller's code: identical for both deployments.
async fn caller(client: &MultiAIClient, model: Model) -> Seen {
    let messages = [
        Message::system("Be helpful."),
        Message::user("Hello, how are you?"),
    ];
    let response: ChatResponse = client
        .ainvoke(&messages, model)
        .temperature(0.2)
        .max_tokens(1000)
        .await
        .unwrap();
    let parse = |(id, name, args): (String, String, String)| {
        (id, name, serde_json::from_str::<Value>(&args).unwrap())
    };
    let (chunks, error) = collect(
        client
            .astream(&messages, model)
            .temperature(0.2)
            .max_tokens(1000)
            .await
            .unwrap(),
    )
    .await;
    assert!(error.is_none());
    Seen {
        content: response.content().map(str::to_owned),
        tool_calls: response
            .tool_calls()
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    c.function.name.clone(),
                    serde_json::from_str(&c.function.arguments).unwrap(),
                )
            })
            .collect(),
        finish: response.finish_reason().cloned(),
        usage: response.usage,
        streamed_text: text_of(&chunks),
        streamed_calls: tool_calls_of(&chunks).into_iter().map(parse).collect(),
        streamed_usage: chunks.iter().rev().find_map(|c| c.usage),
    }
}

#[tokio::test]
async fn same_caller_code_on_openai_and_anthropic() {
    for name in ["anthropic-text", "anthropic-json-tool.1"] {
        let whole = fixture(&format!("anthropic/{name}.json"));
        let value: Value = serde_json::from_slice(&whole).unwrap();
        // The Anthropic stream with the same content as the whole reply,
        // derived from it, so both sides agree token for token.
        let (openai_whole, openai_lines) = openai_twin(&value);
        let anthropic_lines = anthropic_stream_of(&value);

        let anthropic = MockServer::start().await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::body_partial_json(
                json!({"stream": true}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                sse_anthropic(&anthropic_lines, Framing::Lf),
                "text/event-stream",
            ))
            .with_priority(1)
            .mount(&anthropic)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(whole.clone(), "application/json"),
            )
            .with_priority(2)
            .mount(&anthropic)
            .await;
        let openai = MockServer::start().await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::body_partial_json(
                json!({"stream": true}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(sse_openai(&openai_lines, Framing::Lf), "text/event-stream"),
            )
            .with_priority(1)
            .mount(&openai)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(openai_whole))
            .with_priority(2)
            .mount(&openai)
            .await;

        let client = MultiAIClient::new([
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(openai.uri())
                .api_key("o"),
            claude(&anthropic.uri()),
        ])
        .unwrap();
        let on_openai = caller(&client, Model::Gpt4o).await;
        let on_anthropic = caller(&client, Model::Claude4_5Sonnet).await;
        assert_eq!(on_openai, on_anthropic, "{name}");
        assert_eq!(on_anthropic.streamed_usage, Some(on_anthropic.usage));
    }
}

/// An Anthropic event stream carrying exactly the content of a whole reply.
fn anthropic_stream_of(message: &Value) -> Vec<String> {
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    let mut lines = vec![json!({"type": "message_start", "message": start}).to_string()];
    for (index, block) in message["content"].as_array().unwrap().iter().enumerate() {
        match block["type"].as_str().unwrap() {
            "text" => {
                lines.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}).to_string());
                for word in block["text"].as_str().unwrap().split_inclusive(' ') {
                    lines.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": word}}).to_string());
                }
            }
            "tool_use" => {
                lines.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}).to_string());
                let input = block["input"].to_string();
                for piece in input.as_bytes().chunks(5) {
                    lines.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": String::from_utf8_lossy(piece)}}).to_string());
                }
            }
            _ => {}
        }
        lines.push(json!({"type": "content_block_stop", "index": index}).to_string());
    }
    lines.push(json!({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"]}, "usage": {"output_tokens": message["usage"]["output_tokens"]}}).to_string());
    lines.push(json!({"type": "message_stop"}).to_string());
    lines
}

#[tokio::test]
async fn claude_through_openrouter_at_openrouter_prices() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", "Bearer or-key"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("mistral/mistral-text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let (client, _) = client_with(
        Deployment::new(Model::Claude4_5Sonnet, Provider::OpenRouter)
            .endpoint(server.uri())
            .api_key("or-key"),
    );
    let response = client
        .ainvoke(&hello(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(body["model"], "anthropic/claude-sonnet-4.5");
    let price = Model::Claude4_5Sonnet.price(Provider::OpenRouter).unwrap();
    assert_eq!(response.cost, response.usage.cost(&price));
    assert_eq!(response.provider, "openrouter");
}
