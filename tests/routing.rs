//! Routing through the public API, against local servers speaking the real
//! wire formats: several deployments per model, strategies, cooldowns, a
//! refused key, fallback models on another protocol, streams, and every
//! call accounted once with its attempts listed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use llmax::{
    Deployment, Error, Message, Model, MultiAIClient, Provider, ProviderErrorKind, Strategy, Usd,
};
use llmax_tests::{Framing, Recorder, collect, fixture, fixture_lines, sse_anthropic, text_of};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CLAUDE: llmax::Model = llmax::model!("claude-4.5-sonnet");

fn user() -> Vec<Message> {
    vec![Message::user("Plan a holiday.")]
}

fn openai(endpoint: &str, label: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
        .label(label)
}

fn claude(endpoint: &str) -> Deployment {
    Deployment::new(CLAUDE, Provider::Anthropic)
        .endpoint(endpoint)
        .api_key("sk-ant-test")
        .label("anthropic")
}

/// The recorded OpenAI answer.
fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture("openai/openai-text.json"), "application/json")
}

/// An error in OpenAI's documented shape.
fn openai_error(status: u16, kind: &str) -> ResponseTemplate {
    let body =
        format!(r#"{{"error":{{"message":"{kind}","type":"{kind}","param":null,"code":null}}}}"#);
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

async fn serving(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn anthropic_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("anthropic/anthropic-text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

/// A port nothing listens on: connecting is refused.
fn refused_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn router(
    deployments: Vec<Deployment>,
    build: impl FnOnce(llmax::ClientBuilder) -> llmax::ClientBuilder,
) -> (MultiAIClient, Recorder) {
    let records = Recorder::default();
    let builder = records.attach(MultiAIClient::builder().deployments(deployments));
    (build(builder).build().expect("valid client"), records)
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

/// (deployment, status, error) of each attempt of a record.
fn trail(record: &llmax::UsageRecord) -> Vec<(String, Option<u16>, Option<&'static str>)> {
    record
        .attempt_log
        .iter()
        .map(|a| (a.deployment.to_string(), a.status, a.error))
        .collect()
}

#[tokio::test]
async fn a_primary_that_refuses_connections_hands_over_to_the_next() {
    let backup = serving(ok()).await;
    let (client, recorder) = router(
        vec![
            openai(&refused_endpoint(), "primary"),
            openai(&backup.uri(), "backup"),
        ],
        |b| b,
    );
    let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(&*response.deployment, "backup");
    assert_eq!(response.catalog_model, "gpt-4o");
    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(&*records[0].deployment, "backup");
    assert_eq!(records[0].attempts, 2);
    assert_eq!(
        trail(&records[0]),
        vec![
            ("primary".into(), None, Some("connection")),
            ("backup".into(), Some(200), None),
        ]
    );
    // The primary rests: the next call goes straight to the backup.
    assert_eq!(
        client.deployments(Model::Gpt4o),
        vec![("primary".to_owned(), false), ("backup".to_owned(), true)]
    );
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    let records = recorder.wait_for(2).await;
    assert_eq!(trail(&records[1]), vec![("backup".into(), Some(200), None)]);
    assert_eq!(hits(&backup).await, 2);
}

#[tokio::test]
async fn a_429_with_retry_after_moves_traffic_until_the_rest_is_over() {
    let primary = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(429, "rate_limit_exceeded").insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .with_priority(2)
        .mount(&primary)
        .await;
    let backup = serving(ok()).await;
    let (client, recorder) = router(
        vec![
            openai(&primary.uri(), "primary"),
            openai(&backup.uri(), "backup"),
        ],
        |b| b,
    );

    let first = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(&*first.deployment, "backup");
    // Meanwhile, the primary is left alone.
    for _ in 0..3 {
        let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
        assert_eq!(&*response.deployment, "backup");
    }
    assert_eq!(hits(&primary).await, 1);
    // After the 2 s it asked for, traffic comes back.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let back = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(&*back.deployment, "primary");
    assert_eq!(hits(&primary).await, 2);
    assert_eq!(hits(&backup).await, 4);

    let records = recorder.wait_for(5).await;
    assert_eq!(
        trail(&records[0]),
        vec![
            ("primary".into(), Some(429), Some("rate_limit")),
            ("backup".into(), Some(200), None),
        ]
    );
    assert_eq!(
        trail(&records[4]),
        vec![("primary".into(), Some(200), None)]
    );
}

#[tokio::test]
async fn a_primary_failing_every_call_rests_for_the_cooldown() {
    let primary = serving(openai_error(500, "server_error")).await;
    let backup = serving(ok()).await;
    let (client, recorder) = router(
        vec![
            openai(&primary.uri(), "primary"),
            openai(&backup.uri(), "backup"),
        ],
        |b| b.cooldown(Duration::from_millis(1500)),
    );
    for _ in 0..5 {
        let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
        assert_eq!(&*response.deployment, "backup");
    }
    assert_eq!(hits(&primary).await, 1, "rested after its first 500");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(
        hits(&primary).await,
        2,
        "tried again once the cooldown is over"
    );
    let records = recorder.wait_for(6).await;
    assert_eq!(records.len(), 6);
    assert!(
        records
            .iter()
            .all(|r| r.succeeded && &*r.deployment == "backup")
    );
    assert_eq!(records[5].attempts, 2);
}

#[tokio::test]
async fn with_one_deployment_retries_behave_as_without_routing() {
    // A lone deployment that rests is still tried: the call is never
    // refused without being sent only because of a cooldown.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(500, "server_error"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .with_priority(2)
        .mount(&server)
        .await;
    let (client, recorder) = router(vec![openai(&server.uri(), "only")], |b| b);
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(
        matches!(&error, Error::Provider(p) if p.status == 500),
        "{error:?}"
    );
    let response = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(3)
        .await
        .unwrap();
    assert_eq!(&*response.deployment, "only");
    let records = recorder.wait_for(2).await;
    assert_eq!(records[0].attempts, 1);
    assert_eq!(records[1].attempts, 2);
    assert_eq!(hits(&server).await, 3);
}

#[tokio::test]
async fn a_refused_key_takes_the_deployment_out_until_the_client_is_rebuilt() {
    let refused = serving(openai_error(401, "invalid_api_key")).await;
    let backup = serving(ok()).await;
    let (client, recorder) = router(
        vec![
            openai(&refused.uri(), "bad-key"),
            openai(&backup.uri(), "backup"),
        ],
        |b| b,
    );
    for _ in 0..3 {
        client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    }
    assert_eq!(hits(&refused).await, 1, "asked once, never again");
    let records = recorder.wait_for(3).await;
    assert_eq!(
        trail(&records[0]),
        vec![
            ("bad-key".into(), Some(401), Some("auth")),
            ("backup".into(), Some(200), None),
        ]
    );

    // Alone, the key's error reaches the caller once; later calls are
    // refused without traffic, with an error that says why.
    let (alone, recorder) = router(vec![openai(&refused.uri(), "bad-key")], |b| b);
    let error = alone.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(
        matches!(&error, Error::Provider(p) if p.kind == ProviderErrorKind::Auth),
        "{error:?}"
    );
    let error = alone.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    match &error {
        Error::Unavailable { model, reason } => {
            assert_eq!(model, &"gpt-4o");
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(hits(&refused).await, 2);
    assert_eq!(
        recorder.wait_for(1).await.len(),
        1,
        "the refused call is not accounted"
    );
    // A rebuilt client tries the key again.
    let (rebuilt, _) = router(vec![openai(&refused.uri(), "bad-key")], |b| b);
    assert!(matches!(
        rebuilt.ainvoke(&user(), Model::Gpt4o).await,
        Err(Error::Provider(_))
    ));
    assert_eq!(hits(&refused).await, 3);
}

#[tokio::test]
async fn when_every_deployment_is_down_a_fallback_model_answers_in_its_own_protocol() {
    let sweden = serving(openai_error(503, "server_error")).await;
    let france = serving(openai_error(429, "rate_limit_exceeded")).await;
    let anthropic = anthropic_server().await;
    let (client, recorder) = router(
        vec![
            openai(&sweden.uri(), "sweden"),
            openai(&france.uri(), "france"),
            claude(&anthropic.uri()),
        ],
        |b| b.fallback_models([CLAUDE]),
    );
    let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(response.catalog_model, "claude-4.5-sonnet");
    assert_eq!(response.provider, "anthropic");
    assert_eq!(&*response.deployment, "anthropic");
    assert!(
        response
            .content()
            .unwrap()
            .starts_with("Hello! I'm doing well")
    );
    // The request was written in Anthropic's format for Claude's name.
    let sent = &anthropic.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert!(body["max_tokens"].is_u64());
    assert_eq!(sent.headers["x-api-key"], "sk-ant-test");

    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.model, "claude-4.5-sonnet");
    assert_eq!(record.provider, "anthropic");
    assert_eq!(
        trail(record),
        vec![
            ("sweden".into(), Some(503), Some("server_error")),
            ("france".into(), Some(429), Some("rate_limit")),
            ("anthropic".into(), Some(200), None),
        ]
    );
    // Claude's price: 12 input tokens at $3/M, 29 output at $15/M.
    assert_eq!(record.cost, "0.000471".parse::<Usd>().unwrap());
    assert_eq!(response.cost, record.cost);

    // Both OpenAI deployments rest: the next call goes to Claude at once.
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    let records = recorder.wait_for(2).await;
    assert_eq!(
        trail(&records[1]),
        vec![("anthropic".into(), Some(200), None)]
    );
}

#[tokio::test]
async fn a_call_sets_its_own_fallbacks_and_errors_a_retry_cannot_cure_do_not_fall_back() {
    let down = serving(openai_error(503, "server_error")).await;
    let anthropic = anthropic_server().await;
    let (client, _) = router(
        vec![openai(&down.uri(), "down"), claude(&anthropic.uri())],
        |b| b.cooldown(Duration::ZERO),
    );
    // No client-wide fallback: the call's own.
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::Provider(_)), "{error:?}");
    let text = client
        .ainvoke_to_str(&user(), Model::Gpt4o)
        .fallback([CLAUDE])
        .await
        .unwrap();
    assert!(text.starts_with("Hello!"));

    // A request the provider refuses (400) is the caller's to fix.
    let bad = serving(openai_error(400, "invalid_request_error")).await;
    let (client, recorder) = router(
        vec![openai(&bad.uri(), "bad"), claude(&anthropic.uri())],
        |b| b.fallback_models([CLAUDE]),
    );
    let before = hits(&anthropic).await;
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(
        matches!(&error, Error::Provider(p) if p.status == 400),
        "{error:?}"
    );
    assert_eq!(hits(&anthropic).await, before);
    assert_eq!(recorder.wait_for(1).await[0].attempts, 1);

    // A fallback without a deployment is a configuration error.
    let error = MultiAIClient::builder()
        .deployment(openai(&bad.uri(), "bad"))
        .fallback_models([CLAUDE])
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Config {
                kind: llmax::ConfigErrorKind::Routing,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_stream_falls_back_before_its_first_chunk() {
    let down = serving(openai_error(502, "server_error")).await;
    let anthropic = MockServer::start().await;
    let lines = fixture_lines("anthropic/anthropic-text.chunks.txt");
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(sse_anthropic(&lines, Framing::Lf), "text/event-stream"),
        )
        .mount(&anthropic)
        .await;
    let (client, recorder) = router(
        vec![openai(&down.uri(), "down"), claude(&anthropic.uri())],
        |b| b.fallback_models([CLAUDE]),
    );
    let stream = client.astream(&user(), Model::Gpt4o).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!text_of(&chunks).is_empty());
    // The last chunk says which model answered.
    let last = chunks.last().unwrap();
    assert!(last.usage.is_some());
    assert_eq!(last.model, Some("claude-4.5-sonnet"));
    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].model, "claude-4.5-sonnet");
    assert_eq!(records[0].attempts, 2);
    assert_eq!(Some(records[0].cost), last.cost);
}

#[tokio::test]
async fn round_robin_spreads_calls_by_weight() {
    let a = serving(ok()).await;
    let b = serving(ok()).await;
    let (client, recorder) = router(
        vec![openai(&a.uri(), "a"), openai(&b.uri(), "b").weight(3)],
        |builder| builder.strategy(Strategy::RoundRobin),
    );
    for _ in 0..8 {
        client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    }
    let records = recorder.wait_for(8).await;
    let order: String = records.iter().map(|r| r.deployment.to_string()).collect();
    assert_eq!(order, "abbbabbb");
    assert_eq!((hits(&a).await, hits(&b).await), (2, 6));
}

#[tokio::test]
async fn in_order_keeps_to_the_primary_while_it_is_healthy() {
    let a = serving(ok()).await;
    let b = serving(ok()).await;
    let (client, _) = router(vec![openai(&a.uri(), "a"), openai(&b.uri(), "b")], |x| x);
    for _ in 0..4 {
        client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    }
    assert_eq!((hits(&a).await, hits(&b).await), (4, 0));
}

#[tokio::test]
async fn least_in_flight_avoids_a_busy_deployment() {
    let slow = serving(ok().set_delay(Duration::from_millis(800))).await;
    let fast = serving(ok()).await;
    let (client, _) = router(
        vec![openai(&slow.uri(), "slow"), openai(&fast.uri(), "fast")],
        |b| b.strategy(Strategy::LeastInFlight),
    );
    let busy = {
        let client = client.clone();
        tokio::spawn(async move { client.ainvoke(&user(), Model::Gpt4o).await })
    };
    // Wait until the first call is at the slow deployment.
    while hits(&slow).await == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..4 {
        let response = client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
        assert_eq!(&*response.deployment, "fast");
    }
    assert_eq!(&*busy.await.unwrap().unwrap().deployment, "slow");
    assert_eq!(hits(&slow).await, 1);
}

#[tokio::test]
async fn a_closed_gate_refuses_the_call_before_any_traffic() {
    let server = serving(ok()).await;
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = open.clone();
    let (client, recorder) = router(vec![openai(&server.uri(), "only")], move |b| {
        b.gate(move || {
            let open = flag.load(Ordering::Relaxed);
            async move { open }
        })
    });
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::Gated), "{error:?}");
    let error = client.astream(&user(), Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::Gated), "{error:?}");
    assert_eq!(hits(&server).await, 0);
    assert!(recorder.wait_for(1).await.is_empty());
    open.store(true, Ordering::Relaxed);
    client.ainvoke(&user(), Model::Gpt4o).await.unwrap();
    assert_eq!(recorder.wait_for(1).await.len(), 1);
}

/// Fails every `every`-th request with `status` (and `Retry-After: 0`),
/// answers the others.
struct Faulty {
    count: AtomicUsize,
    every: usize,
    status: u16,
}

impl Respond for Faulty {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(self.every) {
            openai_error(self.status, "fault").insert_header("retry-after", "0")
        } else {
            ok()
        }
    }
}

async fn faulty(every: usize, status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Faulty {
            count: AtomicUsize::new(0),
            every,
            status,
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_through_three_faulty_deployments_are_each_accounted_once() {
    let a = faulty(3, 429).await;
    let b = faulty(4, 503).await;
    let c = faulty(7, 500).await;
    let (client, recorder) = router(
        vec![
            openai(&a.uri(), "a"),
            openai(&b.uri(), "b"),
            openai(&c.uri(), "c"),
        ],
        |x| {
            x.strategy(Strategy::RoundRobin)
                .cooldown(Duration::from_millis(5))
        },
    );
    let calls = (0..1000).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.ainvoke(&user(), Model::Gpt4o).tries(4).await })
    });
    let results = futures_util::future::join_all(calls).await;
    let mut answered = Usd::ZERO;
    let mut succeeded = 0;
    for result in results {
        if let Ok(response) = result.unwrap() {
            answered += response.cost;
            succeeded += 1;
        }
    }
    let records = recorder.wait_for(1000).await;
    assert_eq!(records.len(), 1000, "one record per call");
    assert_eq!(records.iter().filter(|r| r.succeeded).count(), succeeded);
    // Each success costs the recorded answer's price; the sum is exact.
    let unit = records.iter().find(|r| r.succeeded).unwrap().cost;
    assert!(unit > Usd::ZERO);
    let recorded: Usd = records.iter().map(|r| r.cost).sum();
    assert_eq!(recorded, answered);
    assert_eq!(recorded, unit.saturating_mul(succeeded as u64));
    // Every request a server received is an attempt of exactly one record.
    let attempts: usize = records.iter().map(|r| r.attempt_log.len()).sum();
    let received = hits(&a).await + hits(&b).await + hits(&c).await;
    assert_eq!(attempts, received);
    assert_eq!(
        records.iter().map(|r| r.attempts as usize).sum::<usize>(),
        received
    );
    // Faults were injected and moved on from.
    assert!(records.iter().any(|r| r.attempt_log.len() > 1));
    assert_eq!(
        succeeded, 1000,
        "four rounds over three deployments always find one"
    );
}

/// Anthropic SSE: the recorded `message_start` (12 input tokens, 1 output),
/// then `events` more lines of the recorded stream, then an overloaded
/// error event.
fn anthropic_overloaded_after(events: usize) -> Vec<u8> {
    let lines = fixture_lines("anthropic/anthropic-text.chunks.txt");
    let mut body = sse_anthropic(&lines[..1 + events], Framing::Lf);
    body.extend_from_slice(
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    body
}

async fn anthropic_streaming(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .mount(&server)
        .await;
    server
}

async fn openai_streaming() -> MockServer {
    let lines = fixture_lines("openai/openai-text.chunks.txt");
    serving(ResponseTemplate::new(200).set_body_raw(
        llmax_tests::sse_openai(&lines, Framing::Lf),
        "text/event-stream",
    ))
    .await
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_chunk_falls_back_and_its_tokens_are_priced() {
    // Claude accepts, says it read the prompt, then is overloaded: no chunk
    // reached the caller yet, so GPT-4o answers instead.
    let anthropic = anthropic_streaming(anthropic_overloaded_after(0)).await;
    let openai_server = openai_streaming().await;
    let (client, recorder) = router(
        vec![
            claude(&anthropic.uri()),
            openai(&openai_server.uri(), "openai"),
        ],
        |b| b.fallback_models([Model::Gpt4o]),
    );
    let stream = client.astream(&user(), CLAUDE).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(
        text_of(&chunks).starts_with("**Holiday"),
        "{}",
        text_of(&chunks)
    );
    let last = chunks.last().unwrap();
    assert_eq!(last.model, Some("gpt-4o"));

    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1, "one record for the call");
    let record = &records[0];
    assert_eq!(record.model, "gpt-4o");
    assert_eq!(
        trail(record),
        vec![
            ("anthropic".into(), Some(200), Some("overloaded")),
            ("openai".into(), Some(200), None),
        ]
    );
    // Claude's part: 12 input tokens at $3/M and 1 output at $15/M.
    assert_eq!(
        record.attempt_log[0].cost,
        "0.000051".parse::<Usd>().unwrap()
    );
    assert_eq!(Some(record.attempt_log[1].cost), last.cost);
    assert_eq!(
        record.cost,
        record.attempt_log[0].cost + record.attempt_log[1].cost
    );
    assert_eq!(
        record.input_tokens,
        12 + last.usage.unwrap().input_tokens,
        "tokens of both attempts"
    );
}

#[tokio::test]
async fn with_nothing_else_to_try_a_stream_keeps_its_own_error() {
    let anthropic = anthropic_streaming(anthropic_overloaded_after(0)).await;
    let (client, recorder) = router(vec![claude(&anthropic.uri())], |b| b);
    let stream = client.astream(&user(), CLAUDE).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(chunks.is_empty());
    assert!(
        matches!(&error, Some(Error::Provider(p)) if p.kind == ProviderErrorKind::Overloaded),
        "{error:?}"
    );
    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
    assert_eq!(records[0].attempts, 1);
    // Its usage is counted once.
    assert_eq!(records[0].input_tokens, 12);
    assert_eq!(records[0].cost, "0.000051".parse::<Usd>().unwrap());
}

#[tokio::test]
async fn after_its_first_chunk_an_error_is_the_streams() {
    // message_start, content_block_start, ping, then a text delta: a chunk
    // reached the caller before the error.
    let anthropic = anthropic_streaming(anthropic_overloaded_after(3)).await;
    let openai_server = openai_streaming().await;
    let (client, recorder) = router(
        vec![
            claude(&anthropic.uri()),
            openai(&openai_server.uri(), "openai"),
        ],
        |b| b.fallback_models([Model::Gpt4o]),
    );
    let stream = client.astream(&user(), CLAUDE).await.unwrap();
    let (chunks, error) = collect(stream).await;
    assert!(!text_of(&chunks).is_empty());
    assert!(
        matches!(&error, Some(Error::Provider(p)) if p.kind == ProviderErrorKind::Overloaded),
        "{error:?}"
    );
    assert_eq!(
        hits(&openai_server).await,
        0,
        "no fallback after the first chunk"
    );
    let records = recorder.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].model, "claude-4.5-sonnet");
    assert_eq!(records[0].attempts, 1);
}

/// A typed answer: a city and its country.
#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
struct Place {
    city: String,
    country: String,
}

#[tokio::test]
async fn typed_calls_fall_back_only_to_models_of_their_protocol() {
    // The schema goes in the protocol's own dialect: a typed call shaped
    // for OpenAI does not fall back to Claude, but does to another OpenAI
    // model.
    let down = serving(openai_error(503, "server_error")).await;
    let anthropic = anthropic_server().await;
    let mini = serving(ResponseTemplate::new(200).set_body_raw(
        serde_json::json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "{\"city\":\"Paris\",\"country\":\"France\"}"},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 20, "completion_tokens": 9}
        })
        .to_string(),
        "application/json",
    ))
    .await;
    const MINI: llmax::Model = llmax::model!("gpt-4o-mini");
    let (client, _) = router(
        vec![
            openai(&down.uri(), "down"),
            claude(&anthropic.uri()),
            Deployment::new(MINI, Provider::OpenAi)
                .endpoint(mini.uri())
                .api_key("sk-test"),
        ],
        |b| b.fallback_models([CLAUDE]),
    );
    let error = client
        .ainvoke_typed::<Place>(&user(), Model::Gpt4o)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Provider(p) if p.status == 503),
        "{error:?}"
    );
    assert_eq!(hits(&anthropic).await, 0);

    let place = client
        .ainvoke_typed::<Place>(&user(), Model::Gpt4o)
        .fallback([CLAUDE, MINI])
        .await
        .unwrap();
    assert_eq!(place.city, "Paris");
    assert_eq!(hits(&anthropic).await, 0);
    // The fallback got the schema in OpenAI's strict json_schema.
    let sent = &mini.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["response_format"]["type"], "json_schema");
}
