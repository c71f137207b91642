//! Typed answers and tools, on the recorded bodies of `tests/fixtures`
//! and on streams derived from them, for both protocols.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use llmax::{
    Deployment, Error, Message, Model, MultiAIClient, Provider, StreamChunk, Tool,
    ToolCallCollector, ToolChoice, Toolbox, TypedEvent,
};
use llmax_tests::{Framing, RawServer, Reply, fixture, fixture_lines, sse_anthropic, sse_openai};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Weather in several places.
#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct WeatherReport {
    /// One entry per place.
    elements: Vec<Element>,
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Element {
    location: String,
    temperature: i32,
    condition: String,
}

/// Looks up the weather of a place.
#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "weather")] // the name the recorded calls use
struct Weather {
    /// The place.
    location: String,
}

fn openai_deployment(endpoint: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("k")
}

fn claude_deployment(endpoint: &str) -> Deployment {
    Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
        .endpoint(endpoint)
        .api_key("k")
}

/// The input of the recorded Anthropic tool call: a weather report.
fn report_json() -> Value {
    let value: Value =
        serde_json::from_slice(&fixture("anthropic/anthropic-json-tool.1.json")).unwrap();
    value["content"][0]["input"].clone()
}

/// The recorded OpenAI reply with its content replaced by `content`.
fn openai_reply(content: Value, refusal: Value) -> Value {
    let mut reply: Value = serde_json::from_slice(&fixture("openai/openai-text.json")).unwrap();
    reply["choices"][0]["message"]["content"] = content;
    reply["choices"][0]["message"]["refusal"] = refusal;
    reply
}

fn ask() -> Vec<Message> {
    vec![Message::user("What is the weather in these cities?")]
}

async fn server_with(replies: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    let n = replies.len() as u64;
    for (i, reply) in replies.into_iter().enumerate() {
        let mock = Mock::given(method("POST"))
            .respond_with(reply)
            .with_priority(i as u8 + 1);
        let mock = if (i as u64) + 1 < n {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(&server).await;
    }
    server
}

fn bodies(requests: &[Request]) -> Vec<Value> {
    requests.iter().map(|r| r.body_json().unwrap()).collect()
}

#[tokio::test]
async fn openai_typed_reply_uses_a_strict_json_schema() {
    let reply = openai_reply(json!(report_json().to_string()), Value::Null);
    let server = server_with(vec![ResponseTemplate::new(200).set_body_json(reply)]).await;
    let client = MultiAIClient::new([openai_deployment(&server.uri())]).unwrap();
    let report: WeatherReport = client.ainvoke_typed(&ask(), Model::Gpt4o).await.unwrap();
    assert_eq!(report.elements.len(), 4);
    assert_eq!(
        report.elements[3],
        Element {
            location: "Berlin".into(),
            temperature: -9,
            condition: "snowy".into()
        }
    );
    let body = &bodies(&server.received_requests().await.unwrap())[0];
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "WeatherReport");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(
        format["json_schema"]["description"],
        "Weather in several places."
    );
    assert_eq!(
        format["json_schema"]["schema"],
        <WeatherReport as llmax::LlmSchema>::llm_schema()
    );
}

#[tokio::test]
async fn anthropic_typed_reply_through_a_forced_tool_call() {
    let server = server_with(vec![ResponseTemplate::new(200).set_body_raw(
        fixture("anthropic/anthropic-json-tool.1.json"),
        "application/json",
    )])
    .await;
    let client = MultiAIClient::new([claude_deployment(&server.uri())]).unwrap();
    let report: WeatherReport = client
        .ainvoke_typed(&ask(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(report.elements.len()).unwrap(),
        json!(4)
    );
    assert_eq!(report.elements[0].location, "San Francisco");
    let body = &bodies(&server.received_requests().await.unwrap())[0];
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "WeatherReport"})
    );
    assert_eq!(body["tools"][0]["name"], "WeatherReport");
    assert_eq!(
        body["tools"][0]["input_schema"],
        <WeatherReport as llmax::LlmSchema>::llm_schema()
    );
    assert!(body.get("response_format").is_none());
}

#[tokio::test]
async fn refusals_are_their_own_error() {
    let server = server_with(vec![ResponseTemplate::new(200).set_body_raw(
        fixture("anthropic/anthropic-refusal.json"),
        "application/json",
    )])
    .await;
    let client = MultiAIClient::new([claude_deployment(&server.uri())]).unwrap();
    let error = client
        .ainvoke_typed::<WeatherReport>(&ask(), Model::Claude4_5Sonnet)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Refusal { message, .. } if message.contains("Usage Policy")),
        "{error:?}"
    );

    let reply = openai_reply(Value::Null, json!("I'm sorry, I cannot help with that."));
    let server = server_with(vec![ResponseTemplate::new(200).set_body_json(reply)]).await;
    let client = MultiAIClient::new([openai_deployment(&server.uri())]).unwrap();
    let error = client
        .ainvoke_typed::<WeatherReport>(&ask(), Model::Gpt4o)
        .tries(3)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Refusal { message, .. } if message.starts_with("I'm sorry")),
        "{error:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a refusal is not retried"
    );
}

#[tokio::test]
async fn a_reply_that_does_not_match_is_an_error_or_asked_again() {
    // The recorded prose reply does not parse as a WeatherReport.
    let prose = ResponseTemplate::new(200)
        .set_body_raw(fixture("openai/openai-text.json"), "application/json");
    let server = server_with(vec![prose.clone()]).await;
    let client = MultiAIClient::new([openai_deployment(&server.uri())]).unwrap();
    let error = client
        .ainvoke_typed::<WeatherReport>(&ask(), Model::Gpt4o)
        .await
        .unwrap_err();
    let Error::InvalidOutput { raw, source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(raw.starts_with("**Holiday Name:** Galaxy Day"));
    assert!(source.is_syntax());

    // With tries, the model sees its mistake and answers again.
    let good = openai_reply(
        json!(format!("```json\n{}\n```", report_json())),
        Value::Null,
    );
    let server = server_with(vec![prose, ResponseTemplate::new(200).set_body_json(good)]).await;
    let client = MultiAIClient::new([openai_deployment(&server.uri())]).unwrap();
    let report: WeatherReport = client
        .ainvoke_typed(&ask(), Model::Gpt4o)
        .tries(2)
        .await
        .unwrap();
    assert_eq!(report.elements.len(), 4);
    let sent = bodies(&server.received_requests().await.unwrap());
    let retry = sent[1]["messages"].as_array().unwrap();
    assert_eq!(retry.len(), 3);
    assert_eq!(retry[1]["role"], "assistant");
    assert!(
        retry[1]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday")
    );
    assert!(
        retry[2]["content"]
            .as_str()
            .unwrap()
            .contains("does not match the expected JSON Schema: expected value")
    );

    // Anthropic: a tool input of the wrong shape, corrected through a tool result.
    let mut wrong: Value =
        serde_json::from_slice(&fixture("anthropic/anthropic-json-tool.1.json")).unwrap();
    wrong["content"][0]["input"] = json!({"elements": "none"});
    let server = server_with(vec![
        ResponseTemplate::new(200).set_body_json(wrong),
        ResponseTemplate::new(200).set_body_raw(
            fixture("anthropic/anthropic-json-tool.1.json"),
            "application/json",
        ),
    ])
    .await;
    let client = MultiAIClient::new([claude_deployment(&server.uri())]).unwrap();
    let report: WeatherReport = client
        .ainvoke_typed(&ask(), Model::Claude4_5Sonnet)
        .tries(2)
        .await
        .unwrap();
    assert_eq!(report.elements.len(), 4);
    let sent = bodies(&server.received_requests().await.unwrap());
    let messages = sent[1]["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert!(
        messages[2]["content"][0]["content"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
}

#[tokio::test]
async fn json_mode_and_prompt_dialects_follow_the_manifest() {
    let reply = openai_reply(json!(report_json().to_string()), Value::Null);
    let server = server_with(vec![ResponseTemplate::new(200).set_body_json(reply)]).await;
    let client = MultiAIClient::new([
        Deployment::new(Model::DeepseekV4Pro, Provider::DeepSeek)
            .endpoint(server.uri())
            .api_key("k"),
        Deployment::new(Model::ScalewayDeepseekR1DistillLlama70b, Provider::Scaleway)
            .endpoint(server.uri())
            .api_key("k"),
    ])
    .unwrap();
    let _: WeatherReport = client
        .ainvoke_typed(&ask(), Model::DeepseekV4Pro)
        .system("Be exact.")
        .await
        .unwrap();
    let _: WeatherReport = client
        .ainvoke_typed(&ask(), Model::ScalewayDeepseekR1DistillLlama70b)
        .await
        .unwrap();
    let sent = bodies(&server.received_requests().await.unwrap());
    // JSON mode: json_object, and the schema in the system prompt.
    assert_eq!(sent[0]["response_format"], json!({"type": "json_object"}));
    let system = sent[0]["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("Be exact.\n\nAnswer with a JSON object"));
    assert!(system.contains("\"elements\""));
    // Prompt only.
    assert!(sent[1].get("response_format").is_none());
    assert!(
        sent[1]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("JSON Schema")
    );
}

/// Tool-call arguments used for the stream tests: the recorded Mistral call,
/// the recorded Anthropic call, and one with multi-byte characters.
fn call_arguments() -> Vec<(String, String, String)> {
    let mistral: Value =
        serde_json::from_slice(&fixture("mistral/mistral-tool-call.json")).unwrap();
    let call = &mistral["choices"][0]["message"]["tool_calls"][0];
    vec![
        (
            call["id"].as_str().unwrap().into(),
            "weather".into(),
            call["function"]["arguments"].as_str().unwrap().into(),
        ),
        (
            "toolu_01Q9ExVZnzZj7E2QQYHYtNUa".into(),
            "json".into(),
            report_json().to_string(),
        ),
        (
            "call_utf8".into(),
            "weather".into(),
            r#"{"location": "São Paulo — 23°C ☀"}"#.into(),
        ),
    ]
}

/// Splits text into pieces of `size` bytes, never inside a character (the
/// provider sends text; byte splits come from the transport).
fn pieces(text: &str, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = size.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

/// An OpenAI stream with the calls' fragments interleaved by index.
fn openai_tool_stream(calls: &[(String, String, String)], size: usize) -> Vec<String> {
    let chunk = |delta: Value| {
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]}).to_string()
    };
    let mut lines = Vec::new();
    for (index, (id, name, _)) in calls.iter().enumerate() {
        lines.push(chunk(json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]})));
    }
    let split: Vec<Vec<String>> = calls
        .iter()
        .map(|(_, _, args)| pieces(args, size))
        .collect();
    let longest = split.iter().map(Vec::len).max().unwrap_or(0);
    for n in 0..longest {
        for (index, fragments) in split.iter().enumerate() {
            if let Some(fragment) = fragments.get(n) {
                lines.push(chunk(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                ));
            }
        }
    }
    lines.push(json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}).to_string());
    lines.push(json!({"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 124, "completion_tokens": 22}}).to_string());
    lines
}

/// An Anthropic stream with one tool_use block per call, from the recorded
/// stream's message_start and message_delta.
fn anthropic_tool_stream(calls: &[(String, String, String)], size: usize) -> Vec<String> {
    let recorded = fixture_lines("anthropic/anthropic-json-tool.1.chunks.txt");
    let mut lines = vec![recorded[0].clone()];
    for (index, (id, name, args)) in calls.iter().enumerate() {
        lines.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}).to_string());
        for fragment in pieces(args, size) {
            lines.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}}).to_string());
        }
        lines.push(json!({"type": "content_block_stop", "index": index}).to_string());
    }
    lines.extend(recorded[recorded.len() - 2..].iter().cloned());
    lines
}

async fn streamed_calls(
    deployment: Deployment,
    model: Model,
    body: Vec<u8>,
    split: usize,
) -> Vec<(String, String, String)> {
    let server = RawServer::start(vec![Reply::sse_split(&body, split)]).await;
    let client = MultiAIClient::new([deployment.endpoint(&server.url)]).unwrap();
    let mut stream = client
        .astream(&ask(), model)
        .tools([Tool::of::<Weather>()])
        .await
        .unwrap();
    let mut collector = ToolCallCollector::default();
    while let Some(chunk) = stream.next().await {
        let chunk: StreamChunk = chunk.unwrap();
        collector.push(&chunk);
    }
    collector
        .finish()
        .into_iter()
        .map(|call| (call.id, call.function.name, call.function.arguments))
        .collect()
}

#[tokio::test]
async fn streamed_tool_calls_with_fragments_of_every_length_interleaved() {
    let calls = call_arguments();
    let longest = calls.iter().map(|(_, _, args)| args.len()).max().unwrap();
    for size in 1..=longest {
        let body = sse_openai(&openai_tool_stream(&calls, size), Framing::Lf);
        let got = streamed_calls(
            openai_deployment("http://x"),
            Model::Gpt4o,
            body,
            body_len_split(size),
        )
        .await;
        assert_eq!(got, calls, "OpenAI, fragments of {size} bytes");
        let body = sse_anthropic(&anthropic_tool_stream(&calls, size), Framing::Lf);
        let got = streamed_calls(
            claude_deployment("http://x"),
            Model::Claude4_5Sonnet,
            body,
            body_len_split(size),
        )
        .await;
        assert_eq!(got, calls, "Anthropic, fragments of {size} bytes");
    }
}

/// Transport writes of varied sizes, so fragment and write boundaries differ.
fn body_len_split(size: usize) -> usize {
    [4096, 37, 5, 256][size % 4]
}

#[tokio::test]
async fn streamed_tool_calls_with_bytes_split_at_every_position() {
    let calls = call_arguments();
    for (deployment, model, body) in [
        (
            openai_deployment("http://x"),
            Model::Gpt4o,
            sse_openai(&openai_tool_stream(&calls, 9), Framing::CrLf),
        ),
        (
            claude_deployment("http://x"),
            Model::Claude4_5Sonnet,
            sse_anthropic(&anthropic_tool_stream(&calls, 9), Framing::CrLf),
        ),
    ] {
        // One byte per write: every boundary, inside multi-byte characters too.
        let got = streamed_calls(deployment.clone(), model, body.clone(), 1).await;
        assert_eq!(got, calls, "{model}");
        for split in [2, 3, 7] {
            assert_eq!(
                streamed_calls(deployment.clone(), model, body.clone(), split).await,
                calls,
                "{model}/{split}"
            );
        }
    }
}

#[tokio::test]
async fn typed_streams_yield_text_then_the_value() {
    // Anthropic: the forced tool's input arrives as JSON fragments.
    let lines = fixture_lines("anthropic/anthropic-json-tool.1.chunks.txt");
    let server = RawServer::start(vec![Reply::sse(sse_anthropic(&lines, Framing::Lf))]).await;
    let client = MultiAIClient::new([claude_deployment(&server.url)]).unwrap();
    let mut stream = client
        .astream_typed::<WeatherReport>(&ask(), Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let mut text = String::new();
    let mut value = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            TypedEvent::Delta(piece) => text.push_str(&piece),
            TypedEvent::Partial(_) => {}
            TypedEvent::Done(report) => value = Some(report),
        }
    }
    let report = value.unwrap();
    assert_eq!(report.elements[0].temperature, 58);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["elements"][0]["condition"],
        "sunny"
    );

    // OpenAI: content deltas of the JSON text.
    let json_text = report_json().to_string();
    let chunk = |delta: Value, finish: Value| {
        json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    let mut lines: Vec<String> = pieces(&json_text, 11)
        .into_iter()
        .map(|p| chunk(json!({"content": p}), Value::Null))
        .collect();
    lines.push(chunk(json!({}), json!("stop")));
    let server = RawServer::start(vec![Reply::sse(sse_openai(&lines, Framing::Lf))]).await;
    let client = MultiAIClient::new([openai_deployment(&server.url)]).unwrap();
    let stream = client
        .astream_typed::<WeatherReport>(&ask(), Model::Gpt4o)
        .await
        .unwrap();
    let events: Vec<_> = stream.collect().await;
    assert!(events.len() > 10);
    let Some(Ok(TypedEvent::Done(report))) = events.last() else {
        panic!("{:?}", events.last())
    };
    assert_eq!(report.elements.len(), 4);
    let request = server.received()[0].json();
    assert_eq!(request["response_format"]["type"], "json_schema");

    // A streamed refusal is the refusal error.
    let lines = fixture_lines("anthropic/anthropic-refusal.chunks.txt");
    let server = RawServer::start(vec![Reply::sse(sse_anthropic(&lines, Framing::Lf))]).await;
    let client = MultiAIClient::new([claude_deployment(&server.url)]).unwrap();
    let events: Vec<_> = client
        .astream_typed::<WeatherReport>(&ask(), Model::Claude4_5Sonnet)
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(events.last(), Some(Err(Error::Refusal { .. }))),
        "{events:?}"
    );
}

#[tokio::test]
async fn tool_loop_runs_tools_and_sums_usage() {
    let server = server_with(vec![
        ResponseTemplate::new(200).set_body_raw(
            fixture("mistral/mistral-tool-call.json"),
            "application/json",
        ),
        ResponseTemplate::new(200)
            .set_body_raw(fixture("mistral/mistral-text.json"), "application/json"),
    ])
    .await;
    let client = MultiAIClient::new([Deployment::new(Model::MistralSmall, Provider::Mistral)
        .endpoint(server.uri())
        .api_key("k")])
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let tools = Toolbox::new().tool(move |args: Weather| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(args.location.clone());
            Ok::<_, String>(json!({"location": args.location, "celsius": 18}))
        }
    });
    let run = client
        .ainvoke(&ask(), Model::MistralSmall)
        .run_tools(&tools)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["San Francisco"]);
    assert_eq!(run.rounds, 2);
    assert!(!run.stopped_early);
    assert!(
        run.response
            .content()
            .unwrap()
            .starts_with("**Holiday Name")
    );
    assert_eq!(run.usage.input_tokens, 124 + 13);
    assert_eq!(run.usage.output_tokens, 22 + 434);
    let price = Model::MistralSmall.price(Provider::Mistral).unwrap();
    assert_eq!(run.cost, run.usage.cost(&price));
    assert_eq!(
        run.messages.len(),
        4,
        "question, tool call, tool result, answer"
    );
    let sent = bodies(&server.received_requests().await.unwrap());
    assert_eq!(sent[0]["tools"][0]["function"]["name"], "weather");
    assert_eq!(
        sent[0]["tools"][0]["function"]["description"],
        "Looks up the weather of a place."
    );
    let second = sent[1]["messages"].as_array().unwrap();
    assert_eq!(second[1]["tool_calls"][0]["id"], "gSIMJiOkT");
    assert_eq!(second[2]["role"], "tool");
    assert_eq!(second[2]["tool_call_id"], "gSIMJiOkT");
    assert_eq!(
        second[2]["content"],
        r#"{"location":"San Francisco","celsius":18}"#
    );
}

#[tokio::test]
async fn tool_loop_runs_parallel_calls_concurrently_and_stops_at_max_rounds() {
    // A reply with two calls (the recorded one, twice under two ids).
    let mut two: Value =
        serde_json::from_slice(&fixture("mistral/mistral-tool-call.json")).unwrap();
    let call = two["choices"][0]["message"]["tool_calls"][0].clone();
    let mut second = call.clone();
    second["id"] = json!("second");
    two["choices"][0]["message"]["tool_calls"] = json!([call, second]);
    let server = server_with(vec![ResponseTemplate::new(200).set_body_json(two)]).await;
    let client = MultiAIClient::new([openai_deployment(&server.uri())]).unwrap();
    // Each call waits for the other: run one after the other, they would never finish.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let tools = Toolbox::new()
        .tool(move |_: Weather| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                Ok::<_, String>("sunny")
            }
        })
        .max_rounds(2);
    let run = tokio::time::timeout(
        Duration::from_secs(10),
        client.ainvoke(&ask(), Model::Gpt4o).run_tools(&tools),
    )
    .await
    .expect("the two calls ran concurrently")
    .unwrap();
    assert_eq!(run.rounds, 2);
    assert!(run.stopped_early, "the model kept calling tools");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn tools_and_tool_choice_in_each_dialect() {
    let server = server_with(vec![ResponseTemplate::new(200).set_body_raw(
        fixture("anthropic/anthropic-json-tool.1.json"),
        "application/json",
    )])
    .await;
    let client = MultiAIClient::new([claude_deployment(&server.uri())]).unwrap();
    let response = client
        .ainvoke(&ask(), Model::Claude4_5Sonnet)
        .tools([Tool::of::<WeatherReport>(), Tool::of::<Weather>()])
        .tool_choice(ToolChoice::Required)
        .await
        .unwrap();
    let report: WeatherReport = response.tool_calls()[0]
        .arguments_as("claude-4.5-sonnet")
        .unwrap();
    assert_eq!(report.elements.len(), 4);
    let body = &bodies(&server.received_requests().await.unwrap())[0];
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert_eq!(body["tools"][1]["name"], "weather");
    assert_eq!(
        body["tools"][1]["description"],
        "Looks up the weather of a place."
    );
    assert!(body["tools"][1]["input_schema"]["properties"]["location"].is_object());
}

#[tokio::test]
async fn the_mock_provider_answers_typed_calls_and_tool_loops() {
    let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)]).unwrap();
    let report: WeatherReport = client.ainvoke_typed(&ask(), Model::Gpt4o).await.unwrap();
    assert_eq!(
        report.elements,
        [Element {
            location: "mock location".into(),
            temperature: 1,
            condition: "mock condition".into()
        }]
    );
    let tools = Toolbox::new().tool(|args: Weather| async move {
        Ok::<_, String>(format!("sunny in {}", args.location))
    });
    let run = client
        .ainvoke(&ask(), Model::Gpt4o)
        .run_tools(&tools)
        .await
        .unwrap();
    assert_eq!(run.rounds, 2);
    assert!(
        run.response
            .content()
            .unwrap()
            .contains("\"sunny in mock location\"")
    );
    let mut stream = client
        .astream_typed::<WeatherReport>(&ask(), Model::Gpt4o)
        .await
        .unwrap();
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event.unwrap());
    }
    assert_eq!(last, Some(TypedEvent::Done(report)));
}
