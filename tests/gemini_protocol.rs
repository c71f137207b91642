//! Gemini's native protocol (and Vertex AI) behind the same client API, on
//! the recorded bodies and streams of `tests/fixtures/google`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llmax::{
    ContentPart, Deployment, Error, FinishReason, Message, Model, MultiAIClient, Provider,
    ProviderErrorKind, StreamChunk, Thinking, ThinkingLevel, ToolCall, ToolChoice, Toolbox, Usage,
    Usd,
};
use llmax_tests::{
    Framing, RawServer, Recorder, Reply, client_with, collect, fixture, fixture_lines, sse_gemini,
    sse_gemini_google, text_of,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PRO3: &str = "/models/gemini-3-pro-preview:generateContent";
const PRO3_STREAM: &str = "/models/gemini-3-pro-preview:streamGenerateContent";
/// The signature of the call in `google-tool-call.json`.
const CALL_SIGNATURE: &str = "EskgCsYgAb4+9vtF7/499YQS2bjZs3xcQI+iAl+ILn29nK1j0Kg6su7QsUUUk3nrAAfnS2w5WiVvlcCqu9fAebJ2cvfaEyBahEt5";

fn gemini(endpoint: &str) -> Deployment {
    Deployment::new(Model::Gemini3ProPreview, Provider::Gemini)
        .endpoint(endpoint)
        .api_key("g-key")
}

/// gemini-3-pro-preview on the Gemini API, in micro-dollars per token:
/// 2 input, 0.2 cached input, 12 output (thoughts included).
fn pro3_cost(input: u64, cached: u64, output: u64) -> Usd {
    Usd::from_picos((input - cached) * 2_000_000 + cached * 200_000 + output * 12_000_000)
}

fn hello() -> Vec<Message> {
    vec![Message::user("How many r's in strawberry?")]
}

fn json_reply(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name), "application/json")
}

fn tool_calls_of(chunks: &[StreamChunk]) -> Vec<ToolCall> {
    let mut collector = llmax::ToolCallCollector::default();
    chunks.iter().for_each(|chunk| collector.push(chunk));
    collector.finish()
}

#[tokio::test]
async fn plain_reply_with_auth_usage_thoughts_and_cost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PRO3))
        .and(header("x-goog-api-key", "g-key"))
        .respond_with(json_reply("google/google-text.json"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, records) = client_with(gemini(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    assert_eq!(
        response.content(),
        Some("There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.")
    );
    assert_eq!(response.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(response.model, "gemini-3-pro-preview");
    assert_eq!(response.id, "Un6LacrVMcjUxs0PmJfWoQc");
    // 28 candidate tokens and 244 thought tokens: all billed as output.
    assert_eq!(
        response.usage,
        Usage::new(9, 28 + 244).with_reasoning_tokens(244)
    );
    assert_eq!(response.cost, pro3_cost(9, 0, 272));
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].provider, "gemini");
    assert_eq!(records[0].reasoning_tokens, 244);
    assert_eq!(records[0].cost, response.cost);
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("authorization").is_none());
    let body: Value = request.body_json().unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "How many r's in strawberry?"}]}]})
    );
}

async fn sent_body(
    messages: &[Message],
    call: impl FnOnce(llmax::Call<'_, llmax::Invoke>) -> llmax::Call<'_, llmax::Invoke>,
) -> Value {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply("google/google-text.json"))
        .mount(&server)
        .await;
    let (client, _) = client_with(gemini(&server.uri()));
    call(client.ainvoke(messages, Model::Gemini3ProPreview))
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
            ContentPart::image_url("gs://bucket/cat.jpg"),
            ContentPart::input_audio("UklGRg==", "wav"),
        ]),
        Message::assistant_tool_calls([ToolCall::function(
            "call_1",
            "weather",
            r#"{"city":"Paris"}"#,
        )
        .with_thought_signature("c2lnbmF0dXJl")]),
        Message::tool("call_1", r#"{"celsius":21}"#),
        Message::developer("Answer in French."),
        Message::user("So?"),
    ];
    let body = sent_body(&messages, |call| {
        call.system("Be kind.")
            .temperature(0.25)
            .top_p(0.5)
            .max_tokens(300)
            .stop(["END"])
            .seed(7)
            .thinking(Thinking::Level(ThinkingLevel::Low))
            .tools([llmax::Tool::new(
                "weather",
                "Weather by city",
                json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            )])
            .tool_choice(ToolChoice::Named("weather".into()))
            .extra(
                "safetySettings",
                json!([{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]),
            )
            .extra("generationConfig", json!({"topK": 5}))
    })
    .await;
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [
                    {"text": "Look at these."},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}},
                    {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
                ]},
                {"role": "model", "parts": [
                    {"functionCall": {"id": "call_1", "name": "weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "c2lnbmF0dXJl"},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"id": "call_1", "name": "weather", "response": {"celsius": 21}}},
                    {"text": "So?"},
                ]},
            ],
            "systemInstruction": {"parts": [
                {"text": "Be kind."}, {"text": "You are terse."}, {"text": "Answer in French."},
            ]},
            "tools": [{"functionDeclarations": [{
                "name": "weather",
                "description": "Weather by city",
                "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}},
            "generationConfig": {
                "temperature": 0.25,
                "topP": 0.5,
                "maxOutputTokens": 300,
                "stopSequences": ["END"],
                "seed": 7,
                "thinkingConfig": {"thinkingLevel": "LOW", "includeThoughts": true},
                "topK": 5,
            },
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        })
    );
}

#[tokio::test]
async fn thinking_budgets_and_plain_tool_results() {
    let messages = vec![
        Message::user("Weather?"),
        Message::assistant_tool_calls([ToolCall::function("llmax-call-0", "weather", "")]),
        Message::tool("llmax-call-0", "sunny"),
    ];
    let body = sent_body(&messages, |call| call.thinking(Thinking::Budget(1024))).await;
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
    // Ids llmax made up are not sent; a text result is wrapped in an object.
    assert_eq!(
        body["contents"][1]["parts"][0],
        json!({"functionCall": {"name": "weather", "args": {}}})
    );
    assert_eq!(
        body["contents"][2]["parts"][0],
        json!({"functionResponse": {"name": "weather", "response": {"result": "sunny"}}})
    );
    let body = sent_body(&hello(), |call| call.thinking(Thinking::Off)).await;
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 0})
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_the_network() {
    let server = MockServer::start().await;
    let (client, records) = client_with(gemini(&server.uri()));
    let orphan = vec![Message::user("Hi"), Message::tool("nobody", "42")];
    let error = client
        .ainvoke(&orphan, Model::Gemini3ProPreview)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidRequest { message, .. } if message.contains("answers no earlier tool call")),
        "{error}"
    );
    let not_object = vec![
        Message::user("Hi"),
        Message::assistant_tool_calls([ToolCall::function("c", "f", "[1]")]),
    ];
    let error = client
        .ainvoke(&not_object, Model::Gemini3ProPreview)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
    let error = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .seed(1 << 40)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
    let error = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .temperature(f64::NAN)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
    let error = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .extra("generationConfig", "hot")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(records.all().is_empty());
}

#[tokio::test]
async fn tool_call_reply_keeps_its_thought_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply("google/google-tool-call.json"))
        .mount(&server)
        .await;
    let (client, _) = client_with(gemini(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    let calls = response.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "weather");
    assert_eq!(
        calls[0].function.arguments,
        r#"{"location":"San Francisco"}"#
    );
    assert_eq!(calls[0].thought_signature.as_deref(), Some(CALL_SIGNATURE));
    assert_eq!(calls[0].id, "llmax-call-0");
    assert_eq!(response.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(
        response.usage,
        Usage::new(29, 15 + 893).with_reasoning_tokens(893)
    );
}

/// A mock answering streamed calls with an SSE body.
async fn stream_server(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PRO3_STREAM))
        .and(query_param("alt", "sse"))
        .and(header("x-goog-api-key", "g-key"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .mount(&server)
        .await;
    server
}

/// Streams `body` through a client of a Gemini mock: the chunks, the error
/// that ended the stream if any, and the client's usage records.
async fn stream_body(body: Vec<u8>) -> (Vec<StreamChunk>, Option<Error>, Recorder) {
    let server = stream_server(body).await;
    let (client, records) = client_with(gemini(&server.uri()));
    let stream = client
        .astream(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    (chunks, error, records)
}

const STREAMED_TEXT: &str = "There are **3** \"r\"s in strawberry.\n\nst**r**awbe**rr**y";

#[tokio::test]
async fn text_stream_in_every_framing() {
    let lines = fixture_lines("google/google-text.chunks.txt");
    let mut bodies: Vec<Vec<u8>> = Framing::ALL
        .iter()
        .map(|framing| sse_gemini(&lines, *framing))
        .collect();
    bodies.push(sse_gemini_google(&lines));
    for body in bodies {
        let (chunks, error, records) = stream_body(body).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(text_of(&chunks), STREAMED_TEXT);
        let last = chunks.last().unwrap();
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        let usage = Usage::new(9, 23 + 185).with_reasoning_tokens(185);
        assert_eq!(last.usage, Some(usage));
        assert_eq!(last.cost, Some(pro3_cost(9, 0, 208)));
        assert_eq!(
            chunks.iter().filter(|c| c.usage.is_some()).count(),
            1,
            "usage once, on the last chunk"
        );
        let records = records.wait_for(1).await;
        assert_eq!(records[0].output_tokens, 208);
        assert!(records[0].succeeded);
    }
}

#[tokio::test]
async fn text_stream_split_at_every_byte() {
    let lines = fixture_lines("google/google-text.chunks.txt");
    for size in [1, 7, 64] {
        let server =
            RawServer::start(vec![Reply::sse_split(&sse_gemini_google(&lines), size)]).await;
        let (client, _) = client_with(gemini(&server.url));
        let stream = client
            .astream(&hello(), Model::Gemini3ProPreview)
            .await
            .unwrap();
        let (chunks, error) = collect(stream).await;
        assert!(error.is_none(), "split {size}: {error:?}");
        assert_eq!(text_of(&chunks), STREAMED_TEXT);
        let received = server.received();
        assert!(
            received[0]
                .request_line
                .contains("/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"),
            "{}",
            received[0].request_line
        );
    }
}

#[tokio::test]
async fn streamed_tool_call_keeps_its_signature() {
    let lines = fixture_lines("google/google-tool-call.chunks.txt");
    let (chunks, error, _) = stream_body(sse_gemini(&lines, Framing::CrLf)).await;
    assert!(error.is_none(), "{error:?}");
    let calls = tool_calls_of(&chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "weather");
    assert_eq!(
        calls[0].function.arguments,
        r#"{"location":"San Francisco"}"#
    );
    assert!(
        calls[0]
            .thought_signature
            .as_deref()
            .is_some_and(|s| s.starts_with("EqUCCqICAb4+9vsh8Pd5"))
    );
    assert_eq!(
        chunks.last().unwrap().finish_reason,
        Some(FinishReason::ToolCalls)
    );
}

/// Vertex AI's streamed arguments (`streamFunctionCallArguments`): a part
/// with the name, parts with `partialArgs`, a closing part. Written from
/// Vertex AI's documented shape (no recording is public).
#[tokio::test]
async fn streamed_partial_arguments_are_put_together() {
    let events = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "book", "willContinue": true}, "thoughtSignature": "c2ln"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"partialArgs": [{"jsonPath": "$.city", "stringValue": "New ", "willContinue": true}], "willContinue": true}}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"partialArgs": [{"jsonPath": "$.city", "stringValue": "York"}, {"jsonPath": "$.nights", "numberValue": 3}, {"jsonPath": "$.guests[0].adult", "boolValue": true}], "willContinue": true}}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {}}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5}}),
    ];
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let (chunks, error, _) = stream_body(sse_gemini(&lines, Framing::Lf)).await;
    assert!(error.is_none(), "{error:?}");
    let calls = tool_calls_of(&chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "book");
    assert_eq!(calls[0].thought_signature.as_deref(), Some("c2ln"));
    let arguments: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(
        arguments,
        json!({"city": "New York", "nights": 3, "guests": [{"adult": true}]})
    );
    assert_eq!(chunks.last().unwrap().usage, Some(Usage::new(10, 5)));
}

#[tokio::test]
async fn cut_stream_is_an_interruption_with_the_usage_so_far() {
    let lines = fixture_lines("google/google-text.chunks.txt");
    // The last event (the finish) never comes.
    let (chunks, error, records) = stream_body(sse_gemini(&lines[..2], Framing::Lf)).await;
    assert_eq!(chunks.len(), 2);
    let Some(Error::StreamInterrupted { usage, .. }) = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        usage,
        Some(Usage::new(9, 23 + 185).with_reasoning_tokens(185))
    );
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
    assert_eq!(records[0].output_tokens, 208);
}

#[tokio::test]
async fn error_event_and_stall_end_the_stream() {
    let lines = fixture_lines("google/google-text.chunks.txt");
    let mut body = sse_gemini(&lines[..1], Framing::Lf);
    body.extend_from_slice(
        b"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n",
    );
    let (chunks, error, _) = stream_body(body).await;
    assert_eq!(text_of(&chunks), "There are **3**");
    assert!(
        matches!(&error, Some(Error::Provider(e)) if e.message.contains("overloaded")),
        "{error:?}"
    );

    let server = RawServer::start(vec![Reply::Stall {
        content_type: "text/event-stream".into(),
        pieces: vec![sse_gemini(&lines[..1], Framing::Lf)],
    }])
    .await;
    let (client, records) = client_with(gemini(&server.url));
    let stream = client
        .astream(&hello(), Model::Gemini3ProPreview)
        .stream_idle_timeout(Duration::from_millis(200))
        .await
        .unwrap();
    let (chunks, error) = collect(stream).await;
    assert_eq!(chunks.len(), 1);
    assert!(matches!(error, Some(Error::Timeout { .. })), "{error:?}");
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_info_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_raw(
            fixture("google/google-429-retry-info.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (client, records) = client_with(gemini(&server.uri()));
    let error = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs_f64(34.4)));
    let Error::Provider(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    assert_eq!(error.code.as_deref(), Some("429"));
    assert!(error.message.contains("exceeded your current quota"));
    assert_eq!(records.all().len(), 1, "a refused call is accounted once");
}

#[tokio::test]
async fn retry_waits_as_retry_info_says() {
    // The recorded 429's shape, with a short delay so that the test waits
    // for it: the retry must come after it, not before.
    let body = json!({"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.3s"}]}});
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(body))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json_reply("google/google-text.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, records) = client_with(gemini(&server.uri()));
    let started = Instant::now();
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .tries(2)
        .delay(Duration::from_millis(1))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(response.content().is_some());
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 2);
}

#[tokio::test]
async fn safety_and_blocked_prompts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Once upon"}]}, "finishReason": "RECITATION", "index": 0,
                            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "cachedContentTokenCount": 3, "toolUsePromptTokenCount": 1}
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}
            ]},
            "usageMetadata": {"promptTokenCount": 4}
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, _) = client_with(gemini(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    assert_eq!(response.finish_reason(), Some(&FinishReason::ContentFilter));
    let rating = &response.choices[0].safety_ratings[0];
    assert_eq!(
        (
            rating.category.as_str(),
            rating.probability.as_str(),
            rating.blocked
        ),
        ("HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE", false)
    );
    assert_eq!(response.usage, Usage::new(5, 2).with_cached_input_tokens(3));
    assert_eq!(response.cost, pro3_cost(5, 3, 2));
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    assert_eq!(response.finish_reason(), Some(&FinishReason::ContentFilter));
    assert_eq!(
        response.choices[0].message.refusal.as_deref(),
        Some("prompt blocked (SAFETY)")
    );
    let rating = &response.choices[0].safety_ratings[0];
    assert!(rating.blocked);
    assert_eq!(rating.category, "HARM_CATEGORY_DANGEROUS_CONTENT");
}

/// Looks up the weather of a place.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
#[llm(name = "weather")] // the name the recorded calls use
struct Weather {
    /// The place.
    location: String,
}

/// The second round of a Gemini 3 tool loop must send the call back with
/// its signature, or Gemini 3 refuses it.
#[tokio::test]
async fn two_round_tool_loop_sends_the_signatures_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply("google/google-tool-call.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json_reply("google/google-text.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, records) = client_with(gemini(&server.uri()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let tools = Toolbox::new().tool(move |args: Weather| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(args.location.clone());
            Ok::<_, String>(json!({"celsius": 18}))
        }
    });
    let run = client
        .ainvoke(&[Message::user("Weather in SF?")], Model::Gemini3ProPreview)
        .run_tools(&tools)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["San Francisco"]);
    assert_eq!(run.rounds, 2);
    assert_eq!(run.usage.output_tokens, (15 + 893) + (28 + 244));
    assert_eq!(records.all().len(), 2);
    let requests = server.received_requests().await.unwrap();
    let first: Value = requests[0].body_json().unwrap();
    assert_eq!(
        first["tools"][0]["functionDeclarations"][0]["name"],
        "weather"
    );
    let second: Value = requests[1].body_json().unwrap();
    assert_eq!(
        second["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather in SF?"}]},
            {"role": "model", "parts": [{
                "functionCall": {"name": "weather", "args": {"location": "San Francisco"}},
                "thoughtSignature": CALL_SIGNATURE,
            }]},
            {"role": "user", "parts": [{
                "functionResponse": {"name": "weather", "response": {"celsius": 18}},
            }]},
        ])
    );
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Answer {
    /// The count.
    count: u32,
}

#[tokio::test]
async fn typed_answers_use_the_json_schema_dialect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "{\"count\": 3}"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5}
        })))
        .mount(&server)
        .await;
    let (client, _) = client_with(gemini(&server.uri()));
    let answer: Answer = client
        .ainvoke_typed(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    assert_eq!(answer, Answer { count: 3 });
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    let config = &body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(
        config["responseJsonSchema"]["properties"]["count"]["type"],
        "integer"
    );
    assert!(config.get("responseSchema").is_none());
}

#[tokio::test]
async fn embeddings_through_batch_embed_contents() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/models/gemini-embedding-001:batchEmbedContents"))
        .and(header("x-goog-api-key", "g-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "embeddings": [{"values": [0.5, -0.25]}, {"values": [1.0, 0.0]}],
            "usageMetadata": {"promptTokenCount": 1000000}
        })))
        .mount(&server)
        .await;
    let (client, records) = client_with(
        Deployment::new(Model::GeminiEmbedding001, Provider::Gemini)
            .endpoint(server.uri())
            .api_key("g-key"),
    );
    let response = client
        .aembed(
            vec!["a".to_owned(), "b".to_owned()],
            Model::GeminiEmbedding001,
        )
        .dimensions(2)
        .await
        .unwrap();
    assert_eq!(response.embeddings, vec![vec![0.5, -0.25], vec![1.0, 0.0]]);
    assert_eq!(response.usage.input_tokens, 1_000_000);
    assert_eq!(response.cost, "0.15".parse::<Usd>().unwrap());
    assert_eq!(records.all().len(), 1);
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body,
        json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 2},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 2},
        ]})
    );
}

#[tokio::test]
async fn vertex_ai_regional_path_and_bearer_token() {
    let server = MockServer::start().await;
    let base =
        "/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash";
    Mock::given(method("POST"))
        .and(path(format!("{base}:generateContent")))
        .and(header("authorization", "Bearer ya29.token"))
        .respond_with(json_reply("google/google-text.json"))
        .mount(&server)
        .await;
    let lines = fixture_lines("google/google-text.chunks.txt");
    Mock::given(method("POST"))
        .and(path(format!("{base}:streamGenerateContent")))
        .and(query_param("alt", "sse"))
        .and(header("authorization", "Bearer ya29.token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(sse_gemini(&lines, Framing::Lf), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let deployment = Deployment::new(Model::Gemini2_5Flash, Provider::Vertex)
        .endpoint(server.uri())
        .project_id("my-project")
        .region("europe-west4")
        .api_key("ya29.token");
    assert!(!format!("{deployment:?}").contains("ya29"));
    let (client, records) = client_with(deployment);
    let response = client
        .ainvoke(&hello(), Model::Gemini2_5Flash)
        .await
        .unwrap();
    assert!(response.content().unwrap().starts_with("There are **3**"));
    // gemini-2.5-flash on Vertex: 0.3 input, 2.5 output per million.
    assert_eq!(
        response.cost,
        Usd::from_picos(9 * 300_000 + 272 * 2_500_000)
    );
    let text = client
        .astream(&hello(), Model::Gemini2_5Flash)
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, STREAMED_TEXT);
    assert_eq!(records.wait_for(2).await[1].provider, "vertex");
    // Without a project, the deployment is refused when the client is built.
    let error =
        MultiAIClient::new([Deployment::new(Model::Gemini2_5Flash, Provider::Vertex).api_key("t")])
            .unwrap_err();
    assert!(error.to_string().contains("project_id"), "{error}");
}

/// A conversation from a Gemini tool loop, continued on an OpenAI-protocol
/// deployment: the signatures stay on the messages (and in their JSON, to
/// be stored), but are not sent where they mean nothing.
#[tokio::test]
async fn signatures_are_kept_but_not_sent_to_other_protocols() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply("openai/openai-text.json"))
        .mount(&server)
        .await;
    let (client, _) = client_with(
        Deployment::new(Model::Gpt4o, Provider::OpenAi)
            .endpoint(server.uri())
            .api_key("sk"),
    );
    let messages = vec![
        Message::user("Weather?"),
        Message::assistant_tool_calls([ToolCall::function(
            "llmax-call-0",
            "weather",
            r#"{"city":"Paris"}"#,
        )
        .with_thought_signature(CALL_SIGNATURE)]),
        Message::tool("llmax-call-0", "sunny"),
    ];
    let stored = serde_json::to_value(&messages).unwrap();
    assert_eq!(
        stored[1]["tool_calls"][0]["thought_signature"],
        CALL_SIGNATURE
    );
    let restored: Vec<Message> = serde_json::from_value(stored).unwrap();
    assert_eq!(restored, messages);
    client.ainvoke(&messages, Model::Gpt4o).await.unwrap();
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    let call = &body["messages"][1]["tool_calls"][0];
    assert_eq!(call["id"], "llmax-call-0");
    assert!(call.get("thought_signature").is_none(), "{call}");
}

/// Vertex AI streams a call's nested arguments as `partialArgs`, string
/// values in pieces, over some 60 events (recorded from Gemini 3.1 Pro).
#[tokio::test]
async fn recorded_vertex_stream_of_nested_partial_arguments() {
    let lines =
        fixture_lines("google/google-vertex-stream-tool-call-arguments-nested.1.chunks.txt");
    for body in [sse_gemini(&lines, Framing::CrLf), sse_gemini_google(&lines)] {
        let (chunks, error, records) = stream_body(body).await;
        assert!(error.is_none(), "{error:?}");
        let calls = tool_calls_of(&chunks);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function.name, "cookRecipe");
        assert!(
            calls[0]
                .thought_signature
                .as_deref()
                .is_some_and(|s| s.starts_with("CmIBjz1rX0OQ"))
        );
        let arguments: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        let recipe = &arguments["recipe"];
        assert_eq!(recipe["name"], "Lasagna");
        let ingredients = recipe["ingredients"].as_array().unwrap();
        assert_eq!(ingredients.len(), 10);
        assert_eq!(
            ingredients[0],
            json!({"amount": "16 oz", "name": "Lasagna noodles"})
        );
        assert_eq!(
            ingredients[9],
            json!({"amount": "1/2 tsp", "name": "Pepper"})
        );
        let steps = recipe["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 10);
        assert_eq!(
            steps[4],
            "In a 9x13 baking dish, spread a thin layer of meat sauce."
        );
        let last = chunks.last().unwrap();
        assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
        let usage = Usage::new(31, 684 + 1026).with_reasoning_tokens(1026);
        assert_eq!(last.usage, Some(usage));
        assert_eq!(records.wait_for(1).await[0].output_tokens, 1710);
    }
}

/// A thought summary, a call without arguments and three streamed calls,
/// recorded from Gemini 3 Flash on Vertex AI.
#[tokio::test]
async fn recorded_stream_with_thoughts_and_calls_without_arguments() {
    let lines = fixture_lines("google/google-stream-no-args-tool-call.chunks.txt");
    let (chunks, error, _) = stream_body(sse_gemini(&lines, Framing::KeepAlive)).await;
    assert!(error.is_none(), "{error:?}");
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c.reasoning.as_deref())
        .collect();
    assert!(
        reasoning.starts_with("**Processing User Requests**"),
        "{reasoning}"
    );
    assert_eq!(text_of(&chunks), "", "thoughts are not the answer");
    let calls: Vec<(String, String, bool)> = tool_calls_of(&chunks)
        .into_iter()
        .map(|call| {
            (
                call.function.name,
                call.function.arguments,
                call.thought_signature.is_some(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("read_theme".to_owned(), "{}".to_owned(), true),
            ("read_screen".to_owned(), r#"{"id":"A"}"#.to_owned(), false),
            ("read_screen".to_owned(), r#"{"id":"B"}"#.to_owned(), false),
            ("read_screen".to_owned(), r#"{"id":"C"}"#.to_owned(), false),
        ]
    );
    let ids: Vec<String> = tool_calls_of(&chunks).into_iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            "llmax-call-0",
            "llmax-call-1",
            "llmax-call-2",
            "llmax-call-3"
        ]
    );
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        last.usage,
        Some(Usage::new(249, 58 + 183).with_reasoning_tokens(183))
    );
}

#[tokio::test]
async fn thought_parts_of_a_whole_reply_are_reasoning() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Counting letters...", "thought": true},
                {"text": "Three."}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "thoughtsTokenCount": 4}
        })))
        .mount(&server)
        .await;
    let (client, _) = client_with(gemini(&server.uri()));
    let response = client
        .ainvoke(&hello(), Model::Gemini3ProPreview)
        .thinking(Thinking::Dynamic)
        .await
        .unwrap();
    assert_eq!(response.content(), Some("Three."));
    assert_eq!(
        response.choices[0].message.reasoning.as_deref(),
        Some("Counting letters...")
    );
    assert_eq!(response.usage.reasoning_tokens, 4);
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": -1, "includeThoughts": true})
    );
}

/// Parallel calls from another model (without signatures) sent to Gemini:
/// the calls go as they are, and both results in one user turn.
#[tokio::test]
async fn parallel_calls_and_their_results() {
    let messages = vec![
        Message::user("Weather in Paris and Tokyo?"),
        Message::assistant_tool_calls([
            ToolCall::function("call_a", "weather", r#"{"city":"Paris"}"#),
            ToolCall::function("call_b", "weather", r#"{"city":"Tokyo"}"#),
        ]),
        Message::tool("call_a", "sunny"),
        Message::tool("call_b", "rainy"),
    ];
    let body = sent_body(&messages, |call| call).await;
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"functionCall": {"id": "call_a", "name": "weather", "args": {"city": "Paris"}}},
            {"functionCall": {"id": "call_b", "name": "weather", "args": {"city": "Tokyo"}}},
        ])
    );
    assert_eq!(
        body["contents"][2]["parts"],
        json!([
            {"functionResponse": {"id": "call_a", "name": "weather", "response": {"result": "sunny"}}},
            {"functionResponse": {"id": "call_b", "name": "weather", "response": {"result": "rainy"}}},
        ])
    );
}

#[tokio::test]
async fn typed_streams_read_the_json_text_as_it_comes() {
    use futures_util::StreamExt;
    let events = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "{\"cou"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "nt\": 3}"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5}}),
    ];
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let server = stream_server(sse_gemini(&lines, Framing::Lf)).await;
    let (client, _) = client_with(gemini(&server.uri()));
    let mut stream = client
        .astream_typed::<Answer>(&hello(), Model::Gemini3ProPreview)
        .await
        .unwrap();
    let mut pieces = Vec::new();
    let mut partials = Vec::new();
    let mut value = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            llmax::TypedEvent::Delta(piece) => pieces.push(piece),
            llmax::TypedEvent::Partial(partial) => partials.push(partial.count),
            llmax::TypedEvent::Done(answer) => value = Some(answer),
        }
    }
    assert_eq!(pieces, ["{\"cou", "nt\": 3}"]);
    // The value so far after each piece: the object opened, then its number.
    assert_eq!(partials, [None, Some(3)]);
    assert_eq!(value, Some(Answer { count: 3 }));
    let body: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
}

/// Array arguments in pieces, numbers whole, and a call that ends with a
/// part without `willContinue` (no empty closing `functionCall`).
#[tokio::test]
async fn recorded_stream_of_array_arguments_without_a_closing_part() {
    let lines = fixture_lines(
        "google/google-stream-tool-call-array-arguments-missing-terminal-function-call.chunks.txt",
    );
    let (chunks, error, _) = stream_body(sse_gemini(&lines, Framing::Lf)).await;
    assert!(error.is_none(), "{error:?}");
    let calls = tool_calls_of(&chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "writeItems");
    let arguments: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(
        arguments,
        json!({"operations": [
            {"action": "add", "description": "Fresh red apple", "itemid": "apple_001", "price": 0.5},
            {"action": "add", "description": "Ripe yellow banana", "itemid": "banana_001", "price": 0.3},
        ]})
    );
    assert_eq!(
        chunks.last().unwrap().finish_reason,
        Some(FinishReason::ToolCalls)
    );
}
