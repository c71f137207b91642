//! The OpenAI chat-completions path against local servers speaking the real
//! wire format, with the recorded bodies of `tests/fixtures`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use llmax::{
    Deployment, Error, FinishReason, Message, Model, MultiAIClient, Provider, ProviderErrorKind,
    StreamChunk, TimeoutPhase, Usage, UsageRecord, Usd,
};
use llmax_tests::{
    Framing, RawServer, Recorder, Reply, client_with, collect, fixture, fixture_lines, sse_openai,
    text_of,
};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn openai(endpoint: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test-secret")
}

fn user() -> Vec<Message> {
    vec![Message::user(
        "Invent a new holiday and describe its traditions.",
    )]
}

/// gpt-4o on OpenAI: $2.50 / $1.25 cached / $10 per million tokens.
fn gpt4o_cost(input: u64, cached: u64, output: u64) -> Usd {
    Usd::from_picos((input - cached) * 2_500_000 + cached * 1_250_000 + output * 10_000_000)
}

fn expected_openai_stream_text() -> String {
    fixture_lines("openai/openai-text.chunks.txt")
        .iter()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn plain_reply_is_parsed_costed_and_reported_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", "Bearer sk-test-secret"))
        .and(body_partial_json(serde_json::json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Invent a new holiday and describe its traditions."}
            ],
            "temperature": 0.5,
            "max_completion_tokens": 400,
            "logprobs": false
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, records) = client_with(openai(&server.uri()));
    let response = client
        .ainvoke(&user(), Model::Gpt4o)
        .system("Be brief.")
        .temperature(0.5)
        .max_tokens(400)
        .extra("logprobs", false)
        .await
        .unwrap();
    assert!(
        response
            .content()
            .unwrap()
            .starts_with("**Holiday Name:** Galaxy Day")
    );
    assert_eq!(response.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(response.model, "gpt-4.1-nano-2025-04-14");
    assert_eq!(response.provider, "openai");
    assert_eq!(response.catalog_model, "gpt-4o");
    assert_eq!(response.usage, Usage::new(16, 363));
    assert_eq!(response.cost, gpt4o_cost(16, 0, 363));
    assert_eq!(response.cost.to_string(), "$0.00367");
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].cost, response.cost);
    assert_eq!(records[0].operation, "ainvoke");
    assert_eq!(records[0].attempts, 1);
    assert!(records[0].succeeded);
}

#[tokio::test]
async fn ainvoke_to_str_returns_the_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("deepseek/deepseek-reasoning.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (client, _) = client_with(openai(&server.uri()));
    let text = client.ainvoke_to_str(&user(), Model::Gpt4o).await.unwrap();
    assert!(text.starts_with("The word \"strawberry\" contains three"));
    // Reasoning stays apart from the answer.
    let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    let reasoning = response.choices[0].message.reasoning.as_deref().unwrap();
    assert!(reasoning.starts_with("We are asked"));
    assert!(!response.content().unwrap().contains("We are asked"));
    assert_eq!(response.usage.reasoning_tokens, 315);
}

#[tokio::test]
async fn mistral_tool_call_without_index_or_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("mistral/mistral-tool-call.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let deployment = Deployment::new(Model::MistralSmall, Provider::Mistral)
        .endpoint(server.uri())
        .api_key("k");
    let (client, _) = client_with(deployment);
    let response = client.ainvoke(&user(), Model::MistralSmall).await.unwrap();
    let calls = response.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "gSIMJiOkT");
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "weather");
    assert_eq!(
        calls[0].function.arguments,
        r#"{"location": "San Francisco"}"#
    );
    assert_eq!(response.finish_reason(), Some(&FinishReason::ToolCalls));
}

async fn stream_from(body: Vec<u8>) -> (Vec<StreamChunk>, Option<Error>, Vec<UsageRecord>) {
    let server = RawServer::start(vec![Reply::sse(body)]).await;
    let (client, records) = client_with(openai(&server.url));
    let stream = client.astream(&user(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    (chunks, error, records.all())
}

#[tokio::test]
async fn openai_stream_in_every_framing() {
    let lines = fixture_lines("openai/openai-text.chunks.txt");
    let expected = expected_openai_stream_text();
    for framing in Framing::ALL {
        let (chunks, error, records) = stream_from(sse_openai(&lines, framing)).await;
        assert!(error.is_none(), "{framing:?}: {error:?}");
        assert_eq!(text_of(&chunks), expected, "{framing:?}");
        let finish: Vec<_> = chunks
            .iter()
            .filter_map(|c| c.finish_reason.clone())
            .collect();
        assert_eq!(finish, [FinishReason::Stop]);
        // Usage arrives on the last chunk (empty choices), costed.
        let last = chunks.last().unwrap();
        assert_eq!(last.usage, Some(Usage::new(16, 300)));
        assert_eq!(last.cost, Some(gpt4o_cost(16, 0, 300)));
        assert_eq!(records.len(), 1, "{framing:?}");
        assert_eq!(records[0].cost, gpt4o_cost(16, 0, 300));
        assert_eq!(records[0].operation, "astream");
        assert!(records[0].time_to_first_token.is_some());
    }
}

#[tokio::test]
async fn stream_split_at_every_byte_position_and_in_odd_pieces() {
    // A short stream split at every position (inside UTF-8 characters too),
    // and the long one in pieces of several sizes.
    let short = fixture_lines("mistral/mistral-text.chunks.txt");
    let long = fixture_lines("openai/openai-text.chunks.txt");
    let cases = [(short, vec![1usize]), (long, vec![3, 7, 64, 1000])];
    for (lines, sizes) in cases {
        for framing in [Framing::Lf, Framing::CrLf] {
            let body = sse_openai(&lines, framing);
            let (whole, _, _) = stream_from(body.clone()).await;
            for size in &sizes {
                let server = RawServer::start(vec![Reply::sse_split(&body, *size)]).await;
                let (client, records) = client_with(openai(&server.url));
                let stream = client.astream(&user(), Model::Gpt4o).await.unwrap();
                let (chunks, error) = collect(stream).await;
                assert!(error.is_none(), "size {size}: {error:?}");
                assert_eq!(text_of(&chunks), text_of(&whole), "size {size}");
                assert_eq!(records.all().len(), 1);
            }
        }
    }
}

#[tokio::test]
async fn usage_inside_the_last_content_chunk_mistral() {
    let lines = fixture_lines("mistral/mistral-text.chunks.txt");
    let (chunks, error, records) = stream_from(sse_openai(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    let with_usage: Vec<_> = chunks.iter().filter(|c| c.usage.is_some()).collect();
    assert_eq!(with_usage.len(), 1);
    assert_eq!(with_usage[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(records[0].input_tokens, 13);
    assert_eq!(records[0].output_tokens, 8);
}

#[tokio::test]
async fn mistral_streamed_tool_call_gets_an_index() {
    let lines = fixture_lines("mistral/mistral-tool-call.chunks.txt");
    let (chunks, error, records) = stream_from(sse_openai(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    let calls: Vec<_> = chunks.iter().flat_map(|c| c.tool_calls.clone()).collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].index, 0);
    assert_eq!(calls[0].id.as_deref(), Some("gSIMJiOkT"));
    assert_eq!(calls[0].name.as_deref(), Some("weather"));
    assert_eq!(
        calls[0].arguments.as_deref(),
        Some(r#"{"location": "San Francisco"}"#)
    );
    assert_eq!(records[0].input_tokens, 124);
}

#[tokio::test]
async fn azure_content_filter_chunks_and_reasoning_usage() {
    let lines = fixture_lines("openai/azure-model-router.1.chunks.txt");
    let server = RawServer::start(vec![Reply::sse(sse_openai(&lines, Framing::Lf))]).await;
    let deployment = Deployment::new(Model::Gpt4o, Provider::Azure)
        .endpoint(&server.url)
        .deployment_name("router")
        .api_key("azure-secret");
    let (client, records) = client_with(deployment);
    let (chunks, error) = collect(client.astream(&user(), Model::Gpt4o).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!text_of(&chunks).is_empty());
    let usage = chunks.last().unwrap().usage.unwrap();
    assert_eq!(usage.reasoning_tokens, 64);
    assert_eq!(usage.output_tokens, 78);
    assert_eq!(records.all()[0].reasoning_tokens, 64);
    // Azure's URL and key header.
    let request = &server.received()[0];
    assert!(
        request
            .request_line
            .starts_with("POST /openai/deployments/router/chat/completions?api-version="),
        "{}",
        request.request_line
    );
    assert_eq!(request.header("api-key"), Some("azure-secret"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.json()["stream"], true);
    assert_eq!(request.json()["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn deepseek_reasoning_deltas_stay_apart() {
    let lines = fixture_lines("deepseek/deepseek-reasoning.chunks.txt");
    let (chunks, error, records) = stream_from(sse_openai(&lines, Framing::Lf)).await;
    assert!(error.is_none());
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c.reasoning.as_deref())
        .collect();
    let answer = text_of(&chunks);
    assert!(reasoning.starts_with("We need"), "{reasoning}");
    assert!(!answer.is_empty());
    assert!(!answer.contains("We need"));
    assert_eq!(records[0].reasoning_tokens, 205);
}

#[tokio::test]
async fn raw_gateway_stream_with_its_own_framing() {
    let body = fixture("openai-compatible/anthropic-fallback-tool-call.sse");
    let (chunks, error, records) = stream_from(body).await;
    assert!(error.is_none(), "{error:?}");
    assert!(text_of(&chunks).starts_with("Reading"));
    assert_eq!(records.len(), 1);
}

#[tokio::test]
async fn error_body_with_param_is_typed_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("openai/reasoning-model-legacy-parameter-error.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (client, records) = client_with(openai(&server.uri()));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(3)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.kind, ProviderErrorKind::BadRequest);
    assert_eq!(error.param.as_deref(), Some("max_tokens"));
    assert_eq!(error.code.as_deref(), Some("unsupported_parameter"));
    assert_eq!(error.status, 400);
    // The call reached the provider: accounted once, at no cost.
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
    assert_eq!(records[0].cost, Usd::ZERO);
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0.2")
                .set_body_raw(r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#, "application/json"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, records) = client_with(openai(&server.uri()));
    let started = std::time::Instant::now();
    let response = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(3)
        .await
        .unwrap();
    // Two waits of the server-given 200 ms (the default delay is zero).
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.usage.output_tokens, 363);
    let records = records.all();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 3);

    // Out of tries: the rate-limit error, with its delay.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_string("{}"),
        )
        .mount(&server)
        .await;
    let (client, _) = client_with(openai(&server.uri()));
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(matches!(&error, Error::Provider(e) if e.kind == ProviderErrorKind::RateLimit));
}

#[tokio::test]
async fn gemini_retry_delay_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_raw(
            fixture("google/google-429-retry-info.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let deployment = Deployment::new(Model::Gemini2_5Flash, Provider::GeminiOpenAi)
        .endpoint(server.uri())
        .api_key("g");
    let (client, _) = client_with(deployment);
    let error = client
        .ainvoke(&user(), Model::Gemini2_5Flash)
        .await
        .unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs_f64(34.4)));
    let Error::Provider(error) = error else {
        panic!()
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    assert!(error.message.contains("exceeded your current quota"));
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>upstream unavailable</html>"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let (client, records) = client_with(openai(&server.uri()));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(3)
        .delay(Duration::from_millis(1))
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!()
    };
    assert_eq!(error.kind, ProviderErrorKind::Server);
    assert!(error.message.contains("upstream unavailable"));
    assert_eq!(records.all().len(), 1);
    assert_eq!(records.all()[0].attempts, 3);
}

#[tokio::test]
async fn stream_cut_in_the_middle_is_an_error_and_accounted_once() {
    let lines = fixture_lines("openai/openai-text.chunks.txt");
    let body = sse_openai(&lines, Framing::Lf);
    let cut = body[..body.len() / 2].to_vec();
    let (chunks, error, records) = stream_from(cut).await;
    assert!(!chunks.is_empty());
    assert!(
        matches!(error, Some(Error::StreamInterrupted { usage: None, .. })),
        "{error:?}"
    );
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn garbage_bytes_are_a_decode_error_not_a_panic() {
    let mut body = sse_openai(
        &fixture_lines("mistral/mistral-text.chunks.txt")[..3],
        Framing::Lf,
    );
    body.truncate(body.len() - "data: [DONE]\n\n".len());
    body.extend_from_slice(b"data: {\"choices\": [{\"delta\": \x00\xff\xfe garbage\n\n");
    let (chunks, error, records) = stream_from(body).await;
    assert_eq!(chunks.len(), 2, "the good chunks come first");
    assert!(matches!(error, Some(Error::Decode { .. })), "{error:?}");
    assert_eq!(records.len(), 1);

    // Random bytes, then JSON of the wrong shape, in a whole body.
    for body in [
        &b"\x89PNG\r\n\x1a\n\x00\x00"[..],
        br#"{"choices": "nope"}"#,
        b"[1,2,3]",
        b"",
    ] {
        let server = RawServer::start(vec![Reply::json(200, body.to_vec())]).await;
        let (client, _) = client_with(openai(&server.url));
        let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
        assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn endless_bodies_end_in_errors() {
    // A stream that never ends an event: bounded memory, decode error.
    let server = RawServer::start(vec![Reply::Endless {
        content_type: "text/event-stream".into(),
        piece: vec![b'a'; 64 * 1024],
    }])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let (_, error) = collect(client.astream(&user(), Model::Gpt4o).await.unwrap()).await;
    assert!(matches!(error, Some(Error::Decode { .. })), "{error:?}");
    assert_eq!(records.all().len(), 1);

    // A stream that stalls: the idle timeout ends it.
    let server = RawServer::start(vec![Reply::Stall {
        content_type: "text/event-stream".into(),
        pieces: vec![
            sse_openai(
                &fixture_lines("mistral/mistral-text.chunks.txt")[..2],
                Framing::Lf,
            )[..200]
                .to_vec(),
        ],
    }])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let stream = client
        .astream(&user(), Model::Gpt4o)
        .stream_idle_timeout(Duration::from_millis(300))
        .await
        .unwrap();
    let (_, error) = collect(stream).await;
    assert!(
        matches!(
            error,
            Some(Error::Timeout {
                phase: TimeoutPhase::StreamIdle,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(records.all().len(), 1);

    // A whole body that never ends: the request timeout ends it.
    let server = RawServer::start(vec![Reply::Endless {
        content_type: "application/json".into(),
        piece: b"{\"choices\":[".to_vec(),
    }])
    .await;
    let (client, _) = client_with(openai(&server.url));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .timeout(Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { .. } | Error::Decode { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn dropping_a_stream_early_still_accounts_it_once() {
    let lines = fixture_lines("openai/openai-text.chunks.txt");
    let server = RawServer::start(vec![Reply::sse(sse_openai(&lines, Framing::Lf))]).await;
    let (client, records) = client_with(openai(&server.url));
    let mut stream = client.astream(&user(), Model::Gpt4o).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.content.is_some());
    drop(stream);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn connection_refused_is_typed_and_not_accounted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (client, records) = client_with(openai(&url));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(2)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connection {
                provider: "openai",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(records.all().is_empty(), "nothing reached a provider");
}

#[tokio::test]
async fn budget_refuses_before_any_traffic() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .expect(0)
        .mount(&server)
        .await;
    let spent = Arc::new(AtomicU64::new(5_000_000_000_000));
    let seen = spent.clone();
    let client = MultiAIClient::builder()
        .deployment(openai(&server.uri()))
        .budget(Usd::from_picos(5_000_000_000_000))
        .get_usage(move || {
            let seen = seen.clone();
            async move { Some(Usd::from_picos(seen.load(Ordering::SeqCst))) }
        })
        .build()
        .unwrap();
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");
    assert_eq!(error.to_string(), "budget exceeded: $5 spent of $5");
    let error = client.astream(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }));
    // Under budget: the call goes through.
    spent.store(1, Ordering::SeqCst);
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_with_retries_are_each_accounted_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "5")
                .set_body_string("{}"),
        )
        .up_to_n_times(300)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let count = Arc::new(AtomicU64::new(0));
    let picos = Arc::new(AtomicU64::new(0));
    let (c, p) = (count.clone(), picos.clone());
    let client = MultiAIClient::builder()
        .deployment(openai(&server.uri()))
        .increment_usage(move |record| {
            let (c, p) = (c.clone(), p.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                p.fetch_add(record.cost.picos(), Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let messages = user();
    let calls = (0..1000).map(|_| {
        let client = client.clone();
        let messages = messages.clone();
        tokio::spawn(async move {
            client
                .ainvoke(&messages, Model::Gpt4o)
                .tries(10)
                .await
                .map(|r| r.cost)
        })
    });
    let results = futures_util::future::join_all(calls).await;
    let ok = results
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(_))))
        .count();
    assert_eq!(ok, 1000);
    assert_eq!(count.load(Ordering::SeqCst), 1000);
    assert_eq!(
        picos.load(Ordering::SeqCst),
        1000 * gpt4o_cost(16, 0, 363).picos()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1300);
}

#[tokio::test]
async fn quirks_from_the_manifest_are_applied() {
    // Mistral: max_tokens, random_seed, no stream_options.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("mistral/mistral-tool-call.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let deployment = Deployment::new(Model::MistralSmall, Provider::Mistral)
        .endpoint(server.uri())
        .api_key("k");
    let (client, _) = client_with(deployment);
    client
        .ainvoke(&user(), Model::MistralSmall)
        .max_tokens(100)
        .seed(7)
        .await
        .unwrap();
    let body: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["random_seed"], 7);
    assert_eq!(body["model"], "mistral-small-latest");
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("seed").is_none());

    // Scaleway Qwen: json_object becomes json_schema.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let deployment = Deployment::new(
        Model::ScalewayQwen3_235bA22bInstruct2507,
        Provider::Scaleway,
    )
    .endpoint(server.uri())
    .api_key("scw");
    let (client, _) = client_with(deployment);
    client
        .ainvoke(&user(), Model::ScalewayQwen3_235bA22bInstruct2507)
        .response_format(llmax::ResponseFormat::JsonObject)
        .await
        .unwrap();
    let body: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["model"], "qwen3-235b-a22b-instruct-2507");
}

/// The same caller code, unchanged, against every deployment kind.
async fn caller(client: &MultiAIClient, model: Model) -> (String, String, Usd) {
    let messages = [Message::user("Raconte moi une blague.")];
    let text = client
        .ainvoke_to_str(&messages, model)
        .system("Tu es un assistant utile.")
        .temperature(0.7)
        .await
        .unwrap();
    let stream = client.astream(&messages, model).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none());
    let cost = chunks.iter().find_map(|c| c.cost).unwrap();
    (text, text_of(&chunks), cost)
}

#[tokio::test]
async fn same_caller_code_on_openai_azure_scaleway_and_mock() {
    let server = MockServer::start().await;
    let json = fixture("mistral/mistral-text.json");
    let sse = sse_openai(
        &fixture_lines("mistral/mistral-text.chunks.txt"),
        Framing::Lf,
    );
    Mock::given(method("POST"))
        .and(body_partial_json(serde_json::json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(json, "application/json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let scaleway = Model::ScalewayLlama3_3_70bInstruct;
    let cases = [
        (openai(&server.uri()), Model::Gpt4o),
        (
            Deployment::new(Model::Gpt4o, Provider::Azure)
                .endpoint(server.uri())
                .deployment_name("gpt-4o-2024-05-13")
                .api_key("a"),
            Model::Gpt4o,
        ),
        (
            Deployment::new(scaleway, Provider::Scaleway)
                .endpoint(format!("{}/v1/my-project", server.uri()))
                .api_key("s"),
            scaleway,
        ),
        (Deployment::new(Model::Gpt4o, Provider::Mock), Model::Gpt4o),
    ];
    for (deployment, model) in cases {
        let provider = deployment.provider().name;
        let (client, records) = client_with(deployment);
        let (text, streamed, cost) = caller(&client, model).await;
        if provider == "mock" {
            assert_eq!(
                text,
                "This is a mock reply from gpt-4o. You said: Raconte moi une blague."
            );
            assert_eq!(streamed, text);
        } else {
            assert!(
                text.starts_with("**Holiday Name: \"World Kindness"),
                "{provider}"
            );
            assert!(streamed.ends_with(" is a test response."), "{provider}");
        }
        assert!(cost > Usd::ZERO, "{provider}");
        assert_eq!(records.all().len(), 2, "{provider}");
    }
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert!(paths.contains(&"/chat/completions".to_owned()));
    assert!(paths.contains(&"/openai/deployments/gpt-4o-2024-05-13/chat/completions".to_owned()));
    assert!(paths.contains(&"/v1/my-project/chat/completions".to_owned()));
}

#[tokio::test]
async fn azure_url_carries_the_api_version() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/dep/chat/completions"))
        .and(query_param("api-version", "2024-02-01"))
        .and(header("api-key", "k"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let deployment = Deployment::new(Model::Gpt4o, Provider::Azure)
        .endpoint(format!("{}/", server.uri()))
        .deployment_name("dep")
        .api_version("2024-02-01")
        .api_key("k");
    let (client, _) = client_with(deployment);
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
}

#[tokio::test]
async fn same_caller_code_on_scaleway_by_project_id_at_its_real_url() {
    // The real https://api.scaleway.ai URL, answered on this machine by a
    // CONNECT proxy that terminates TLS itself.
    let json = fixture("mistral/mistral-text.json");
    let sse = sse_openai(
        &fixture_lines("mistral/mistral-text.chunks.txt"),
        Framing::Lf,
    );
    let server = RawServer::start_https_proxy(
        vec![Reply::json(200, json), Reply::sse(sse)],
        "api.scaleway.ai",
    )
    .await;
    let model = Model::ScalewayLlama3_3_70bInstruct;
    let records = Recorder::default();
    let client = records
        .attach(MultiAIClient::builder())
        .deployment(
            Deployment::new(model, Provider::Scaleway)
                .project_id("my-project")
                .api_key("scw-key"),
        )
        .http_client(server.proxied_client())
        .build()
        .unwrap();
    let (text, streamed, cost) = caller(&client, model).await;
    assert!(text.starts_with("**Holiday Name: \"World Kindness"));
    assert!(streamed.ends_with(" is a test response."));
    assert!(cost > Usd::ZERO);
    assert_eq!(records.all().len(), 2);
    let received = server.received();
    let lines: Vec<&str> = received.iter().map(|r| r.request_line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "CONNECT api.scaleway.ai:443 HTTP/1.1",
            "POST /v1/my-project/chat/completions HTTP/1.1",
            "CONNECT api.scaleway.ai:443 HTTP/1.1",
            "POST /v1/my-project/chat/completions HTTP/1.1",
        ]
    );
    assert_eq!(received[1].header("authorization"), Some("Bearer scw-key"));
    assert_eq!(received[1].json()["model"], "llama-3.3-70b-instruct");
}
