//! The engine's contract, the same for every endpoint: timeouts told apart
//! by phase, errors that reach the caller whatever the framing, calls that
//! do not fit the model refused before anything is sent, and every call
//! that reached a provider accounted once.

use std::time::Duration;

use llmax::{Deployment, Error, Message, Model, Provider, ProviderErrorKind, TimeoutPhase};
use llmax_tests::{RawServer, Reply, client_with, fixture};

fn openai(endpoint: &str) -> Deployment {
    Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
}

fn user() -> Vec<Message> {
    vec![Message::user("Hello")]
}

#[tokio::test]
async fn waiting_for_the_response_times_out_as_such() {
    let server = RawServer::start(vec![Reply::Silent]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    match error {
        Error::Timeout { phase, after } => {
            assert_eq!(phase, TimeoutPhase::Request);
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("expected a request timeout, got {other:?}"),
    }
    // The request was sent: the call is accounted, once.
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn reading_a_body_that_stalls_times_out_as_a_body_read() {
    let server = RawServer::start(vec![Reply::Stall {
        content_type: "application/json".into(),
        pieces: vec![b"{\"id\":\"chatcmpl-1\",\"choices\":[".to_vec()],
    }])
    .await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .ainvoke(&user(), Model::Gpt4o)
        .timeout(Duration::from_millis(400))
        .await
        .unwrap_err();
    match error {
        Error::Timeout { phase, after } => {
            assert_eq!(phase, TimeoutPhase::Body);
            assert_eq!(after, Duration::from_millis(400));
        }
        other => panic!("expected a body-read timeout, got {other:?}"),
    }
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_connect_timeout_is_reported_with_the_connect_timeout() {
    // A listener whose accept queue is full: the kernel drops further SYNs,
    // so connecting hangs until the connect timeout (loopback only).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let mut full = false;
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the accept queue never filled");
    let records = llmax_tests::Recorder::default();
    let client = records
        .attach(
            llmax::MultiAIClient::builder()
                .deployment(openai(&format!("http://{addr}")))
                .connect_timeout(Duration::from_millis(250))
                .timeout(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    let error = client.ainvoke(&user(), Model::Gpt4o).await.unwrap_err();
    match error {
        Error::Timeout { phase, after } => {
            assert_eq!(phase, TimeoutPhase::Connect);
            assert_eq!(after, Duration::from_millis(250));
        }
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    // Nothing reached a provider: nothing is accounted.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(records.all().is_empty());
    drop(held);
}

#[tokio::test]
async fn a_stream_answered_with_a_json_error_gives_the_providers_message() {
    let body = fixture("openai/reasoning-model-legacy-parameter-error.json");
    let server = RawServer::start(vec![Reply::json(200, body)]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client.astream(&user(), Model::Gpt4o).await.unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the provider's error, got {error:?}");
    };
    assert_eq!(error.status, 200);
    assert!(
        error.message.contains("max_tokens"),
        "the provider's message reaches the caller: {}",
        error.message
    );
    assert_eq!(error.param.as_deref(), Some("max_tokens"));
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_call_that_does_not_fit_the_model_is_refused_before_sending() {
    let server = RawServer::start(vec![Reply::json(500, b"{}".to_vec())]).await;
    for model in [
        llmax::model!("whisper-1"),
        llmax::model!("text-embedding-3-small"),
    ] {
        let (client, records) = client_with(
            Deployment::new(model, Provider::OpenAi)
                .endpoint(&server.url)
                .api_key("sk-test"),
        );
        let error = client.ainvoke(&user(), model).await.unwrap_err();
        match &error {
            Error::InvalidRequest {
                model: named,
                message,
            } => {
                assert_eq!(*named, model.to_string());
                assert!(
                    message.contains("a chat call needs a chat model"),
                    "{message}"
                );
            }
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
        let error = client.astream(&user(), model).await.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
        assert!(records.all().is_empty());
    }
    assert!(server.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn retries_honour_retry_after_in_one_loop_for_whole_and_streamed_calls() {
    let busy = || Reply::Pieces {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after-ms".into(), "50".into()),
        ],
        pieces: vec![br#"{"error":{"message":"slow down","type":"rate_limit"}}"#.to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    };
    let ok = Reply::json(200, fixture("openai/openai-text.json"));
    let server = RawServer::start(vec![busy(), busy(), ok]).await;
    let (client, records) = client_with(openai(&server.url));
    let response = client
        .ainvoke(&user(), Model::Gpt4o)
        .tries(3)
        .await
        .unwrap();
    assert!(response.content().is_some());
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 3);
    assert!(records[0].succeeded);

    // Out of tries: the provider's error, accounted once.
    let server = RawServer::start(vec![busy()]).await;
    let (client, records) = client_with(openai(&server.url));
    let error = client
        .astream(&user(), Model::Gpt4o)
        .tries(2)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected a rate limit, got {error:?}");
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 2);
    assert_eq!(server.received().len(), 2);
}
