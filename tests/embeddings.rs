//! Embeddings through the public API: the request on the wire (body, URL,
//! headers) for OpenAI, Azure and Mistral, the recorded reply decoded in
//! input order from numbers or base64, batching over the protocol's limit,
//! the engine's fault matrix (retries, 5xx, cut bodies, budget, exactly one
//! usage record per request that reached a provider), exact costs, calls
//! refused before sending, and the mock provider.

use std::time::Duration;

use llmax::{
    Deployment, EmbeddingEncoding, EmbeddingOptions, Error, Message, Model, MultiAIClient,
    Provider, ProviderErrorKind, Usd,
};
use llmax_tests::{RawServer, Received, Recorder, Reply, client_with, fixture};
use serde_json::{Value, json};

const SMALL: Model = llmax::model!("text-embedding-3-small");

fn openai(endpoint: &str) -> Deployment {
    Deployment::new(SMALL, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
}

/// The recorded reply: `tests/fixtures/openai/openai-embedding.json`.
fn recorded() -> Vec<u8> {
    fixture("openai/openai-embedding.json")
}

/// The vectors of the recorded reply, as `f32` (as OpenAI meant them).
fn recorded_vectors() -> Vec<Vec<f32>> {
    let reply: Value = serde_json::from_slice(&recorded()).unwrap();
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

/// The recorded reply with its vectors as base64 of their little-endian
/// `f32`s, as OpenAI sends them for `encoding_format: "base64"`.
fn recorded_as_base64() -> Vec<u8> {
    use base64::Engine as _;
    let mut reply: Value = serde_json::from_slice(&recorded()).unwrap();
    for (item, vector) in reply["data"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(recorded_vectors())
    {
        let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        item["embedding"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    serde_json::to_vec(&reply).unwrap()
}

/// What `tokens` input tokens of `model` on `provider` cost, from the catalog.
fn price_of(model: Model, provider: Provider, tokens: u64) -> Usd {
    model.price(provider).unwrap().input.saturating_mul(tokens)
}

fn only_request(server: &RawServer) -> Received {
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    received.into_iter().next().unwrap()
}

fn busy() -> Reply {
    Reply::Pieces {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after-ms".into(), "50".into()),
        ],
        pieces: vec![br#"{"error":{"message":"slow down","type":"rate_limit"}}"#.to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    }
}

#[tokio::test]
async fn the_recorded_reply_gives_each_input_its_vector_and_the_exact_cost() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let (client, records) = client_with(openai(&server.url));
    let e = client.aembed(&["hello", "world"], SMALL).await.unwrap();
    assert_eq!(e.embeddings, recorded_vectors());
    assert_eq!(e.model, "text-embedding-3-small");
    assert_eq!(e.catalog_model, "text-embedding-3-small");
    assert_eq!(e.provider, "openai");
    assert_eq!(e.usage, llmax::Usage::new(12, 0));
    // 12 tokens at 0.02 USD per million: 240,000 pico-dollars, exactly.
    assert_eq!(e.cost, Usd::from_picos(240_000));
    assert_eq!(e.cost, price_of(SMALL, Provider::OpenAi, 12));
    assert_eq!(e.requests, 1);

    let request = only_request(&server);
    assert!(
        request.request_line.starts_with("POST /embeddings "),
        "{}",
        request.request_line
    );
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    // Nothing but what was asked: the provider's defaults apply.
    assert_eq!(
        request.json(),
        json!({"model": "text-embedding-3-small", "input": ["hello", "world"]})
    );

    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert!(record.succeeded);
    assert_eq!(record.operation, "aembed");
    assert_eq!(record.model, "text-embedding-3-small");
    assert_eq!((record.input_tokens, record.output_tokens), (12, 0));
    assert_eq!(record.cost, e.cost);
    assert_eq!(record.attempts, 1);
}

#[tokio::test]
async fn vectors_listed_out_of_order_are_put_back_in_input_order() {
    let mut reply: Value = serde_json::from_slice(&recorded()).unwrap();
    reply["data"].as_array_mut().unwrap().reverse();
    let server =
        RawServer::start(vec![Reply::json(200, serde_json::to_vec(&reply).unwrap())]).await;
    let (client, _) = client_with(openai(&server.url));
    let inputs = vec!["hello".to_owned(), "world".to_owned()];
    let e = client.aembed(&inputs, SMALL).await.unwrap();
    assert_eq!(e.embeddings, recorded_vectors());
}

#[tokio::test]
async fn options_are_sent_under_the_names_of_the_api() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let (client, _) = client_with(openai(&server.url));
    client
        .aembed(vec!["hello".to_owned(), "world".to_owned()], SMALL)
        .dimensions(256)
        .encoding(EmbeddingEncoding::Float)
        .extra("user", "user-42")
        .await
        .unwrap();
    assert_eq!(
        only_request(&server).json(),
        json!({
            "model": "text-embedding-3-small",
            "input": ["hello", "world"],
            "dimensions": 256,
            "encoding_format": "float",
            "user": "user-42",
        })
    );
}

#[tokio::test]
async fn base64_vectors_decode_to_the_same_floats() {
    let server = RawServer::start(vec![Reply::json(200, recorded_as_base64())]).await;
    let (client, _) = client_with(openai(&server.url));
    let e = client
        .aembed(&["hello", "world"], SMALL)
        .encoding(EmbeddingEncoding::Base64)
        .await
        .unwrap();
    assert_eq!(e.embeddings, recorded_vectors());
    assert_eq!(only_request(&server).json()["encoding_format"], "base64");
}

#[tokio::test]
async fn azure_takes_the_deployment_url_and_its_api_version() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let (client, records) = client_with(
        Deployment::new(SMALL, Provider::Azure)
            .endpoint(&server.url)
            .deployment_name("embed-small")
            .api_key("azure-key"),
    );
    let e = client.aembed(&["hello", "world"], SMALL).await.unwrap();
    assert_eq!(e.cost, price_of(SMALL, Provider::Azure, 12));
    let request = only_request(&server);
    assert!(
        request
            .request_line
            .starts_with("POST /openai/deployments/embed-small/embeddings?api-version=2024-10-21 "),
        "{}",
        request.request_line
    );
    assert_eq!(request.header("api-key"), Some("azure-key"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.json()["model"], "embed-small");
    assert_eq!(records.wait_for(1).await[0].provider, "azure");
}

#[tokio::test]
async fn mistral_gets_output_dimension_and_is_priced_as_mistral_embed() {
    let model = llmax::model!("mistral-embed");
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let (client, _) = client_with(
        Deployment::new(model, Provider::Mistral)
            .endpoint(format!("{}/v1", server.url))
            .api_key("mistral-key"),
    );
    let e = client
        .aembed(&["hello", "world"], model)
        .dimensions(512)
        .await
        .unwrap();
    // 12 tokens at 0.1 USD per million.
    assert_eq!(e.cost, Usd::from_picos(1_200_000));
    assert_eq!(e.cost, price_of(model, Provider::Mistral, 12));
    let request = only_request(&server);
    assert!(request.request_line.starts_with("POST /v1/embeddings "));
    assert_eq!(
        request.json(),
        json!({"model": "mistral-embed", "input": ["hello", "world"], "output_dimension": 512})
    );
}

/// A reply to a batch of `count` inputs whose first is input `first`: each
/// vector is `[its input's position]`, listed last to first, and it used
/// `count` tokens.
fn batch_reply(first: usize, count: usize) -> Reply {
    let data: Vec<Value> = (0..count)
        .rev()
        .map(|index| json!({"object": "embedding", "index": index, "embedding": [(first + index) as f32]}))
        .collect();
    let body = json!({
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": count, "total_tokens": count},
    });
    Reply::json(200, serde_json::to_vec(&body).unwrap())
}

#[tokio::test]
async fn more_inputs_than_one_request_takes_are_batched_in_order() {
    let inputs: Vec<String> = (0..2050).map(|n| format!("text {n}")).collect();
    let server = RawServer::start(vec![batch_reply(0, 2048), batch_reply(2048, 2)]).await;
    let (client, records) = client_with(openai(&server.url));
    // One at a time, so that the scripted replies meet their requests.
    let e = client.aembed(&inputs, SMALL).concurrency(1).await.unwrap();
    assert_eq!(e.requests, 2);
    assert_eq!(e.embeddings.len(), 2050);
    for (position, vector) in e.embeddings.iter().enumerate() {
        assert_eq!(vector, &vec![position as f32]);
    }
    assert_eq!(e.usage.input_tokens, 2050);
    assert_eq!(e.cost, price_of(SMALL, Provider::OpenAi, 2050));

    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].json()["input"], json!(inputs[..2048]));
    assert_eq!(received[1].json()["input"], json!(inputs[2048..]));
    // One record per request, that together make the response.
    let records = records.wait_for(2).await;
    assert_eq!(records.len(), 2);
    assert_eq!(
        records.iter().map(|r| r.input_tokens).collect::<Vec<_>>(),
        [2048, 2]
    );
    assert_eq!(records.iter().map(|r| r.cost).sum::<Usd>(), e.cost);
    assert!(records.iter().all(|r| r.succeeded));
}

#[tokio::test]
async fn a_smaller_batch_size_is_honoured() {
    let inputs: Vec<String> = (0..5).map(|n| format!("text {n}")).collect();
    let server = RawServer::start(vec![
        batch_reply(0, 2),
        batch_reply(2, 2),
        batch_reply(4, 1),
    ])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let e = client
        .aembed(&inputs, SMALL)
        .batch_size(2)
        .concurrency(1)
        .await
        .unwrap();
    assert_eq!(e.requests, 3);
    assert_eq!(
        e.embeddings,
        (0..5).map(|n| vec![n as f32]).collect::<Vec<_>>()
    );
    assert_eq!(server.received().len(), 3);
    assert_eq!(records.wait_for(3).await.len(), 3);
}

#[tokio::test]
async fn a_failed_batch_fails_the_call_and_every_request_is_accounted() {
    let inputs: Vec<String> = (0..4).map(|n| format!("text {n}")).collect();
    let server = RawServer::start(vec![
        batch_reply(0, 2),
        Reply::json(
            400,
            br#"{"error":{"message":"bad input","type":"invalid_request_error"}}"#.to_vec(),
        ),
        batch_reply(0, 2),
    ])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .aembed(&inputs, SMALL)
        .batch_size(2)
        .concurrency(1)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the provider's error, got {error:?}");
    };
    assert_eq!(error.status, 400);
    assert_eq!(server.received().len(), 2, "no batch after the failed one");
    let records = records.wait_for(2).await;
    assert_eq!(records.len(), 2);
    assert!(records[0].succeeded && !records[1].succeeded);
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_delay_the_provider_gives() {
    let server = RawServer::start(vec![busy(), Reply::json(200, recorded())]).await;
    let (client, records) = client_with(openai(&server.url));
    let e = client
        .aembed(&["hello", "world"], SMALL)
        .tries(2)
        .await
        .unwrap();
    assert_eq!(e.embeddings, recorded_vectors());
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 2);
    assert!(records[0].succeeded);
    assert_eq!(server.received().len(), 2);

    // Out of tries: the rate limit, accounted once.
    let server = RawServer::start(vec![busy()]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client.aembed(&["hello"], SMALL).tries(2).await.unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected a rate limit, got {error:?}");
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].attempts, records[0].succeeded), (2, false));
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let down = || {
        Reply::json(
            503,
            br#"{"error":{"message":"overloaded","type":"server_error"}}"#.to_vec(),
        )
    };
    let server = RawServer::start(vec![down(), Reply::json(200, recorded())]).await;
    let (client, records) = client_with(openai(&server.url));
    let e = client
        .aembed(&["hello", "world"], SMALL)
        .tries(3)
        .delay(Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(e.embeddings.len(), 2);
    assert_eq!(records.wait_for(1).await[0].attempts, 2);

    let server = RawServer::start(vec![Reply::json(500, b"{}".to_vec())]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client.aembed(&["hello"], SMALL).await.unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected a server error, got {error:?}");
    };
    assert_eq!(error.status, 500);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn a_cut_body_is_an_error_accounted_once() {
    let body = recorded();
    let half = body[..body.len() / 2].to_vec();
    // Declared whole, cut short: the read fails (a connection error, retried).
    let short = Reply::Pieces {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("content-length".into(), body.len().to_string()),
        ],
        pieces: vec![half.clone()],
        pause: Duration::ZERO,
        content_length: false,
    };
    let server = RawServer::start(vec![short.clone(), Reply::json(200, body.clone())]).await;
    let (client, records) = client_with(openai(&server.url));
    let e = client
        .aembed(&["hello", "world"], SMALL)
        .tries(2)
        .await
        .unwrap();
    assert_eq!(e.embeddings, recorded_vectors());
    assert_eq!(records.wait_for(1).await[0].attempts, 2);

    let server = RawServer::start(vec![short]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client.aembed(&["hello", "world"], SMALL).await.unwrap_err();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);

    // Cut with no length declared: the JSON itself is cut, not retried.
    let server = RawServer::start(vec![Reply::Pieces {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        pieces: vec![half],
        pause: Duration::ZERO,
        content_length: false,
    }])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .aembed(&["hello", "world"], SMALL)
        .tries(3)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(server.received().len(), 1);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn a_reply_with_a_vector_missing_is_a_decode_error() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .aembed(&["hello", "world", "again"], SMALL)
        .await
        .unwrap_err();
    match error {
        Error::Decode { message, .. } => {
            assert!(message.contains("2 embeddings for 3 inputs"), "{message}")
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_spent_budget_sends_nothing() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let records = Recorder::default();
    let client = records
        .attach(
            MultiAIClient::builder()
                .deployment(openai(&server.url))
                .get_usage(|| async { Some(Usd::dollars(2)) })
                .budget(Usd::dollars(1)),
        )
        .build()
        .unwrap();
    let error = client.aembed(&["hello"], SMALL).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received().is_empty());
    assert!(records.all().is_empty());
}

#[tokio::test]
async fn calls_that_do_not_fit_are_refused_before_sending() {
    let server = RawServer::start(vec![Reply::json(200, recorded())]).await;
    let records = Recorder::default();
    let client = records
        .attach(
            MultiAIClient::builder().deployments([
                openai(&server.url),
                Deployment::new(Model::Gpt4o, Provider::OpenAi)
                    .endpoint(&server.url)
                    .api_key("sk-test"),
            ]),
        )
        .build()
        .unwrap();
    // A chat model through aembed.
    match client.aembed(&["hello"], Model::Gpt4o).await.unwrap_err() {
        Error::InvalidRequest { model, message } => {
            assert_eq!(model, "gpt-4o");
            assert_eq!(
                message,
                "`gpt-4o` is a chat model; an embeddings call needs an embedding model"
            );
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    // An embedding model through ainvoke.
    let error = client
        .ainvoke(&[Message::user("hello")], SMALL)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    // No inputs.
    let none: Vec<String> = Vec::new();
    match client.aembed(&none, SMALL).await.unwrap_err() {
        Error::InvalidRequest { message, .. } => {
            assert!(message.contains("no inputs"), "{message}")
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    // No dimensions at all.
    let error = client
        .aembed(&["hello"], SMALL)
        .dimensions(0)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    // A model with no deployment.
    let error = client
        .aembed(&["hello"], llmax::model!("text-embedding-3-large"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NoDeployment { .. }), "{error:?}");

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received().is_empty(), "nothing was sent");
    assert!(records.all().is_empty(), "nothing was accounted");
}

// ---- the mock provider ----

fn norm(vector: &[f32]) -> f64 {
    vector
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[tokio::test]
async fn the_mock_embeds_without_a_key_deterministically() {
    let large = llmax::model!("text-embedding-3-large");
    let (client, records) = client_with(Deployment::new(SMALL, Provider::Mock));
    let e = client
        .aembed(&["hello", "world", "hello"], SMALL)
        .await
        .unwrap();
    assert_eq!(e.embeddings.len(), 3);
    assert!(e.embeddings.iter().all(|v| v.len() == 1536));
    assert!(e.embeddings.iter().all(|v| (norm(v) - 1.0).abs() < 1e-5));
    // The same text, the same vector; another text, another.
    assert_eq!(e.embeddings[0], e.embeddings[2]);
    assert_ne!(e.embeddings[0], e.embeddings[1]);
    // Four characters a token: 2 + 2 + 2.
    assert_eq!(e.usage.input_tokens, 6);
    assert_eq!(e.cost, price_of(SMALL, Provider::OpenAi, 6));
    assert_eq!(e.model, "text-embedding-3-small");
    assert_eq!(records.wait_for(1).await.len(), 1);

    // Again, in another client: the same vectors.
    let (again, _) = client_with(Deployment::new(SMALL, Provider::Mock));
    let second = again.aembed(&["world"], SMALL).await.unwrap();
    assert_eq!(second.embeddings[0], e.embeddings[1]);

    // Shortened, through base64: the same numbers either way.
    let short = client
        .aembed(&["hello"], SMALL)
        .dimensions(64)
        .await
        .unwrap();
    let short64 = client
        .aembed(&["hello"], SMALL)
        .dimensions(64)
        .encoding(EmbeddingEncoding::Base64)
        .await
        .unwrap();
    assert_eq!(short.embeddings[0].len(), 64);
    assert_eq!(short.embeddings, short64.embeddings);
    assert!((norm(&short.embeddings[0]) - 1.0).abs() < 1e-5);

    // The large model's own length; more than it has is the mock's 400.
    let (client, _) = client_with(Deployment::new(large, Provider::Mock));
    let e = client.aembed(&["hello"], large).await.unwrap();
    assert_eq!(e.embeddings[0].len(), 3072);
    let error = client
        .aembed(&["hello"], large)
        .dimensions(4000)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Provider(ref p) if p.status == 400),
        "{error:?}"
    );
}

#[tokio::test]
async fn batches_run_concurrently_and_come_back_in_order() {
    let inputs: Vec<String> = (0..1000).map(|n| format!("document number {n}")).collect();
    let (client, records) = client_with(Deployment::new(SMALL, Provider::Mock));
    let whole = client.aembed(&inputs, SMALL).dimensions(8).await.unwrap();
    assert_eq!(whole.requests, 1);
    let batched = client
        .aembed(&inputs, SMALL)
        .dimensions(8)
        .batch_size(64)
        .concurrency(4)
        .await
        .unwrap();
    assert_eq!(batched.requests, 16);
    assert_eq!(batched.embeddings, whole.embeddings);
    assert_eq!(batched.usage, whole.usage);
    assert_eq!(batched.cost, whole.cost);
    let records = records.wait_for(17).await;
    assert_eq!(records.len(), 17);
    assert_eq!(
        records[1..].iter().map(|r| r.input_tokens).sum::<u64>(),
        whole.usage.input_tokens
    );
}

#[test]
fn blocking_twins_work_without_a_runtime_and_refuse_inside_one() {
    let client = MultiAIClient::new([Deployment::new(SMALL, Provider::Mock)]).unwrap();
    let e = client.embed(&["hello", "world"], SMALL).unwrap();
    assert_eq!(e.embeddings.len(), 2);
    let e = client
        .embed_with(
            vec!["hello".to_owned()],
            SMALL,
            EmbeddingOptions::new()
                .dimensions(16)
                .encoding(EmbeddingEncoding::Base64)
                .operation("index"),
        )
        .unwrap();
    assert_eq!(e.embeddings[0].len(), 16);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = runtime.block_on(async { client.embed(&["hello"], SMALL).unwrap_err() });
    assert!(
        matches!(error, Error::BlockingInRuntime("embed")),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_operation_name_reaches_the_usage_record() {
    let (client, records) = client_with(Deployment::new(SMALL, Provider::Mock));
    client
        .aembed(&["hello"], SMALL)
        .operation("index documents")
        .await
        .unwrap();
    assert_eq!(records.wait_for(1).await[0].operation, "index documents");
}
