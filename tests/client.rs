//! The client's contract outside the wire: validation, secrets, blocking
//! calls, configuration files, the mock provider and cost arithmetic.

use std::io::Write;

use futures_util::StreamExt;
use llmax::{
    CallOptions, ConfigErrorKind, Deployment, Error, FinishReason, Message, Model, MultiAIClient,
    Provider, Usage, Usd,
};
use llmax_tests::fixture;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config_error(result: llmax::Result<MultiAIClient>) -> String {
    match result {
        Err(Error::Config { message, .. }) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

fn config_kind(result: llmax::Result<MultiAIClient>) -> ConfigErrorKind {
    match result {
        Err(Error::Config { kind, .. }) => kind,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn configuration_errors_have_a_kind_to_match_on() {
    let azure = || Deployment::new(Model::Gpt4o, Provider::Azure).api_key("k");
    assert_eq!(
        config_kind(MultiAIClient::new([azure().deployment_name("d")])),
        ConfigErrorKind::MissingField
    );
    assert_eq!(
        config_kind(MultiAIClient::new([Deployment::new(
            Model::Claude4_5Sonnet,
            Provider::Mistral
        )
        .api_key("k")])),
        ConfigErrorKind::UnservedModel
    );
    assert_eq!(
        config_kind(MultiAIClient::new([azure()
            .deployment_name("d")
            .endpoint("ftp://example.com")])),
        ConfigErrorKind::InvalidUrl
    );
    assert_eq!(
        config_kind(MultiAIClient::new([
            Deployment::new(Model::Gpt4o, Provider::Mock).label("a"),
            Deployment::new(Model::Gpt4o, Provider::Mock).label("a"),
        ])),
        ConfigErrorKind::DuplicateDeployment
    );
    assert_eq!(
        config_kind(MultiAIClient::new([Deployment::new(
            Model::Gpt4o,
            Provider::OpenAi
        )
        .api_key("bad\nkey")])),
        ConfigErrorKind::InvalidApiKey
    );
    assert_eq!(
        config_kind(MultiAIClient::from_config("/nonexistent/llmax.toml")),
        ConfigErrorKind::ConfigFile
    );
}

#[test]
fn deployments_are_checked_when_the_client_is_built() {
    let message = config_error(MultiAIClient::new([Deployment::new(
        Model::Gpt4o,
        Provider::Azure,
    )
    .deployment_name("d")
    .api_key("k")]));
    assert_eq!(
        message,
        "deployment of `gpt-4o` on `azure`: azure requires endpoint"
    );

    let message = config_error(MultiAIClient::new([Deployment::new(
        Model::Gpt4o,
        Provider::Azure,
    )
    .endpoint("https://x.openai.azure.com")
    .api_key("k")]));
    assert!(
        message.ends_with("azure requires deployment_name"),
        "{message}"
    );

    let message = config_error(MultiAIClient::new([Deployment::new(
        Model::ScalewayLlama3_3_70bInstruct,
        Provider::Scaleway,
    )
    .api_key("k")]));
    assert!(
        message.contains("scaleway needs endpoint, or project_id"),
        "{message}"
    );

    let message = config_error(MultiAIClient::new([Deployment::new(
        Model::Claude4_5Sonnet,
        Provider::Mistral,
    )
    .api_key("k")]));
    assert!(
        message.contains("provider `mistral` does not serve model `claude-4.5-sonnet` (served by: anthropic, openrouter)"),
        "{message}"
    );

    let message = config_error(MultiAIClient::new([Deployment::new(
        Model::Gpt4o,
        Provider::OpenAi,
    )
    .endpoint("ftp://example.com")
    .api_key("k")]));
    assert!(message.contains("is not http or https"), "{message}");

    // Several deployments of one model are routed; two with one label
    // could not be told apart in usage records.
    let message = config_error(MultiAIClient::new([
        Deployment::new(Model::Gpt4o, Provider::Mock).label("sweden"),
        Deployment::new(Model::Gpt4o, Provider::Mock).label("sweden"),
    ]));
    assert!(message.contains("two deployments of model `gpt-4o` labelled `sweden`"));
}

#[test]
fn scaleway_url_from_project_id_or_endpoint() {
    // Both forms are valid; the endpoint wins when both are given.
    MultiAIClient::new([
        Deployment::new(Model::ScalewayLlama3_3_70bInstruct, Provider::Scaleway)
            .api_key("k")
            .project_id("p"),
    ])
    .unwrap();
    MultiAIClient::new([
        Deployment::new(Model::ScalewayLlama3_3_70bInstruct, Provider::Scaleway)
            .api_key("k")
            .endpoint("https://api.scaleway.ai/v1/p"),
    ])
    .unwrap();
}

#[tokio::test]
async fn unknown_deployment_is_refused_without_traffic() {
    let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)]).unwrap();
    let error = client
        .ainvoke(&[Message::user("hi")], Model::Gpt4oMini)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no deployment for model `gpt-4o-mini`; deployed models: gpt-4o"
    );
    let error = client.ainvoke(&[], Model::Gpt4o).await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }));
    let error = client
        .ainvoke(&[Message::user("hi")], Model::Gpt4o)
        .temperature(f64::NAN)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`temperature` must be a finite number"),
        "{error}"
    );
}

#[tokio::test]
async fn api_keys_never_show() {
    const KEY: &str = "sk-very-secret-key-1234";
    let deployment = Deployment::new(Model::Gpt4o, Provider::OpenAi).api_key(KEY);
    assert!(!format!("{deployment:?}").contains(KEY));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        ))
        .mount(&server)
        .await;
    let client = MultiAIClient::new([deployment.endpoint(server.uri())]).unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    let error = client
        .ainvoke(&[Message::user("hi")], Model::Gpt4o)
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Provider(e) if e.kind == llmax::ProviderErrorKind::Auth));
    assert!(!error.to_string().contains(KEY));
    assert!(!format!("{error:?}").contains(KEY));
    // The key was sent, as a header.
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
}

#[test]
fn blocking_calls_work_without_a_runtime() {
    // The server lives on its own runtime thread; the caller has none.
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
            )
            .mount(&server)
            .await;
        server
    });
    let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::OpenAi)
        .endpoint(server.uri())
        .api_key("k")])
    .unwrap();
    let messages = [Message::user("hi")];
    for _ in 0..3 {
        let text = client.invoke_to_str(&messages, Model::Gpt4o).unwrap();
        assert!(text.starts_with("**Holiday Name:** Galaxy Day"));
    }
    let response = client
        .invoke_with(&messages, Model::Gpt4o, CallOptions::new().temperature(0.2))
        .unwrap();
    assert_eq!(response.usage.output_tokens, 363);
    drop(server_runtime);
}

#[tokio::test]
async fn blocking_calls_inside_a_runtime_are_an_error_not_a_panic() {
    let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)]).unwrap();
    let error = client
        .invoke_to_str(&[Message::user("hi")], Model::Gpt4o)
        .unwrap_err();
    assert!(
        matches!(error, Error::BlockingInRuntime("invoke_to_str")),
        "{error:?}"
    );
    let error = client
        .invoke(&[Message::user("hi")], Model::Gpt4o)
        .unwrap_err();
    assert!(matches!(error, Error::BlockingInRuntime("invoke")));
}

#[test]
fn config_file_with_environment_variables() {
    let mut file = tempfile();
    writeln!(
        file.1,
        r#"
[[deployments]]
model = "gpt-4o"
provider = "azure"
deployment_name = "gpt-4o-2024-05-13"
endpoint = "${{LLMAX_TEST_ENDPOINT}}"
api_key = "${{LLMAX_TEST_KEY}}"

[[deployments]]
model = "gpt-4o"
provider = "openai"
api_key = "${{LLMAX_TEST_KEY}}"
label = "openai-backup"
weight = 2

[[deployments]]
model = "scaleway/llama-3.3-70b-instruct"
provider = "scaleway"
project_id = "my-project"
api_key = "${{LLMAX_TEST_KEY}}"
"#
    )
    .unwrap();
    // SAFETY: this test binary sets these variables in this test only.
    unsafe {
        std::env::set_var("LLMAX_TEST_ENDPOINT", "https://example.openai.azure.com");
        std::env::set_var("LLMAX_TEST_KEY", "secret");
    }
    let client = MultiAIClient::from_config(&file.0).unwrap();
    assert_eq!(client.deployment(Model::Gpt4o), Some("azure"));
    // Two deployments of one model: labelled by the file, or by provider and host.
    assert_eq!(
        client.deployments(Model::Gpt4o),
        vec![
            ("azure@example.openai.azure.com".to_owned(), true),
            ("openai-backup".to_owned(), true)
        ]
    );
    assert_eq!(
        client.deployment(Model::ScalewayLlama3_3_70bInstruct),
        Some("scaleway")
    );

    let mut missing = tempfile();
    writeln!(missing.1, "[[deployments]]\nmodel = \"gpt-4o\"\nprovider = \"openai\"\napi_key = \"${{LLMAX_TEST_UNSET_VARIABLE}}\"").unwrap();
    let message = config_error(MultiAIClient::from_config(&missing.0));
    assert!(
        message.ends_with("environment variable `LLMAX_TEST_UNSET_VARIABLE` is not set"),
        "{message}"
    );

    let mut typo = tempfile();
    writeln!(
        typo.1,
        "[[deployments]]\nmodel = \"gpt-4oo\"\nprovider = \"openai\""
    )
    .unwrap();
    let message = config_error(MultiAIClient::from_config(&typo.0));
    assert!(
        message.ends_with("deployment 1: unknown model `gpt-4oo`; did you mean `gpt-4o`?"),
        "{message}"
    );
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "llmax-test-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

#[tokio::test]
async fn mock_provider_replies_streams_and_prices_like_the_real_model() {
    let client =
        MultiAIClient::new([Deployment::new(Model::Claude4_5Sonnet, Provider::Mock)]).unwrap();
    let messages = [Message::user("Hello there")];
    let response = client
        .ainvoke(&messages, Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let text = "This is a mock reply from claude-4.5-sonnet. You said: Hello there";
    assert_eq!(response.content(), Some(text));
    assert_eq!(response.provider, "mock");
    let price = Model::Claude4_5Sonnet.price(Provider::Anthropic).unwrap();
    assert_eq!(response.cost, response.usage.cost(&price));
    assert!(response.cost > Usd::ZERO);

    let mut stream = client
        .astream(&messages, Model::Claude4_5Sonnet)
        .await
        .unwrap();
    let mut streamed = String::new();
    let mut finish = None;
    let mut usage = None;
    let mut pieces = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        pieces += usize::from(chunk.content.is_some());
        streamed.push_str(chunk.content.as_deref().unwrap_or_default());
        finish = finish.or(chunk.finish_reason);
        usage = usage.or(chunk.usage);
    }
    assert_eq!(streamed, text);
    assert!(pieces > 5, "one chunk per word");
    assert_eq!(finish, Some(FinishReason::Stop));
    assert_eq!(usage, Some(response.usage));
}

#[test]
fn costs_match_hand_computation() {
    // gpt-4o on OpenAI: $2.50 input, $1.25 cached input, $10 output per million.
    let price = Model::Gpt4o.price(Provider::OpenAi).unwrap();
    let uncached = Usage::new(1000, 200);
    // 1000 * 2.5e-6 + 200 * 10e-6 = 0.0025 + 0.002
    assert_eq!(uncached.cost(&price), Usd::from_picos(4_500_000_000));
    assert_eq!(uncached.cost(&price).to_string(), "$0.0045");
    let cached = uncached.with_cached_input_tokens(400);
    // 600 * 2.5e-6 + 400 * 1.25e-6 + 200 * 10e-6 = 0.0015 + 0.0005 + 0.002
    assert_eq!(cached.cost(&price), Usd::from_picos(4_000_000_000));
    // On Azure the same tokens cost more: 600 * 2.75 + 400 * 1.375 + 200 * 11 (per million).
    let azure = Model::Gpt4o.price(Provider::Azure).unwrap();
    assert_eq!(cached.cost(&azure), Usd::from_picos(4_400_000_000));
    // Claude: cache writes are priced apart (3.75 = 1.25 x 3), cache reads at 0.30.
    let claude = Model::Claude4_5Sonnet.price(Provider::Anthropic).unwrap();
    let usage = Usage::new(10_000, 500)
        .with_cached_input_tokens(6_000)
        .with_cache_write_tokens(3_000);
    // 1000 * 3 + 6000 * 0.3 + 3000 * 3.75 + 500 * 15 = 3000 + 1800 + 11250 + 7500 (micro-dollars)
    assert_eq!(usage.cost(&claude), Usd::from_picos(23_550_000_000));
}

#[tokio::test]
async fn a_mock_stream_dropped_early_is_still_accounted_once() {
    let records = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = records.clone();
    let client = MultiAIClient::builder()
        .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
        .increment_usage(move |record| {
            let sink = sink.clone();
            async move { sink.lock().unwrap().push(record) }
        })
        .build()
        .unwrap();
    let mut stream = client
        .astream(&[Message::user("Hello there")], Model::Gpt4o)
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().unwrap().content.is_some());
    drop(stream);
    for _ in 0..100 {
        if !records.lock().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let records = records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}
