//! Call ids, scope tags and the context-taking gate of `UsageHooks`: what a
//! store such as `llmax-ledger` builds on.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use llmax::usage::{CallContext, CallId, Refusal, Scope, UsageHooks};
use llmax::{Deployment, Error, Message, Model, MultiAIClient, Provider, UsageRecord, Usd};
use llmax_tests::fixture;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What a gate saw of a call.
#[derive(Debug, Clone)]
struct Seen {
    call_id: CallId,
    scope: Scope,
    model: &'static str,
    max_cost: Option<Usd>,
}

/// Hooks that keep what they see, and refuse calls of user `"mallory"`.
#[derive(Clone, Default)]
struct Spy {
    gated: Arc<Mutex<Vec<Seen>>>,
    records: Arc<Mutex<Vec<UsageRecord>>>,
    released: Arc<Mutex<Vec<CallId>>>,
    /// What `get_usage` reports.
    spent: Option<Usd>,
}

impl UsageHooks for Spy {
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        self.records.lock().unwrap().push(record);
        Box::pin(async {})
    }

    fn get_usage(&self) -> BoxFuture<'_, Option<Usd>> {
        let spent = self.spent;
        Box::pin(async move { spent })
    }

    fn gate_call<'a>(&'a self, call: &'a CallContext<'a>) -> BoxFuture<'a, Result<(), Refusal>> {
        self.gated.lock().unwrap().push(Seen {
            call_id: call.call_id,
            scope: call.scope.clone(),
            model: call.model,
            max_cost: call.max_cost,
        });
        let refused = call.scope.user_tag() == Some("mallory");
        Box::pin(async move {
            if refused {
                Err(Refusal::new(
                    "user mallory",
                    Usd::dollars(3),
                    Usd::dollars(2),
                ))
            } else {
                Ok(())
            }
        })
    }

    fn release_call(&self, call_id: CallId) -> BoxFuture<'_, ()> {
        self.released.lock().unwrap().push(call_id);
        Box::pin(async {})
    }
}

async fn openai_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("openai/openai-text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, spy: &Spy) -> MultiAIClient {
    MultiAIClient::builder()
        .deployment(
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(server.uri())
                .api_key("sk-test"),
        )
        .scope(Scope::new().tenant("acme").user("service"))
        .hooks(spy.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn each_call_has_one_id_seen_by_its_gate_and_its_record_and_the_scopes_merge() {
    let server = openai_server().await;
    let spy = Spy::default();
    let client = client(&server, &spy);
    let messages = [Message::user("Hi")];
    for _ in 0..3 {
        client
            .ainvoke(&messages, Model::Gpt4o)
            .user("alice")
            .project("faq")
            .await
            .unwrap();
    }
    client.ainvoke(&messages, Model::Gpt4o).await.unwrap();
    let gated = spy.gated.lock().unwrap().clone();
    let records = spy.records.lock().unwrap().clone();
    assert_eq!(gated.len(), 4);
    assert_eq!(records.len(), 4);
    for (seen, record) in gated.iter().zip(&records) {
        assert_eq!(seen.call_id, record.call_id);
        assert_eq!(seen.scope, record.scope);
        assert_eq!(seen.model, "gpt-4o");
    }
    let ids: HashSet<CallId> = records.iter().map(|r| r.call_id).collect();
    assert_eq!(ids.len(), 4, "call ids are unique");
    // The call's tags win; the client's fill the rest.
    let tagged = &records[0].scope;
    assert_eq!(tagged.user_tag(), Some("alice"));
    assert_eq!(tagged.tenant_tag(), Some("acme"));
    assert_eq!(tagged.project_tag(), Some("faq"));
    let untagged = &records[3].scope;
    assert_eq!(untagged.user_tag(), Some("service"));
    assert_eq!(untagged.project_tag(), None);
}

#[tokio::test]
async fn a_refused_call_sends_nothing_and_is_not_accounted() {
    let server = openai_server().await;
    let spy = Spy::default();
    let client = client(&server, &spy);
    let error = client
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .user("mallory")
        .await
        .unwrap_err();
    match &error {
        Error::Refused(refusal) => {
            assert_eq!(refusal.limit, "user mallory");
            assert_eq!(refusal.budget, Usd::dollars(2));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(error.to_string().contains("user mallory"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(spy.records.lock().unwrap().is_empty());
    // Streams are gated the same way.
    let refused = client
        .astream(&[Message::user("Hi")], Model::Gpt4o)
        .user("mallory")
        .await;
    assert!(matches!(refused, Err(Error::Refused(_))));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_gate_sees_the_most_a_call_can_cost() {
    let server = openai_server().await;
    let spy = Spy::default();
    let client = client(&server, &spy);
    let messages = [Message::user("Hi")];
    client
        .ainvoke(&messages, Model::Gpt4o)
        .max_tokens(100)
        .await
        .unwrap();
    client.ainvoke(&messages, Model::Gpt4o).await.unwrap();
    let gated = spy.gated.lock().unwrap().clone();
    let records = spy.records.lock().unwrap().clone();
    let body_len = server.received_requests().await.unwrap()[0].body.len() as u64;
    // gpt-4o on OpenAI: $2.50 in, $10 out per million tokens.
    let input = Usd::from_picos(2_500_000);
    let output = Usd::from_picos(10_000_000);
    assert_eq!(
        gated[0].max_cost,
        Some(
            input
                .saturating_mul(body_len)
                .saturating_add(output.saturating_mul(100))
        )
    );
    // Without max_tokens: the model's maximum output (16,384 for gpt-4o).
    let max_cost = gated[1].max_cost.unwrap();
    assert!(max_cost >= output.saturating_mul(16_384), "{max_cost}");
    // A bound, not a guess: the reply's real cost is under it (its 363
    // output tokens are over the first call's max_tokens: the fixture
    // ignores it, so only the second call is compared).
    assert!(records[1].cost <= max_cost);
}

#[tokio::test]
async fn embeddings_and_speech_calls_carry_their_tags_too() {
    let spy = Spy::default();
    let client = MultiAIClient::builder()
        .deployments([
            Deployment::new(llmax::model!("text-embedding-3-small"), Provider::Mock),
            Deployment::new(llmax::model!("tts-1"), Provider::Mock),
        ])
        .scope(Scope::new().tenant("acme"))
        .hooks(spy.clone())
        .build()
        .unwrap();
    client
        .aembed(&["a", "b"], llmax::model!("text-embedding-3-small"))
        .user("alice")
        .await
        .unwrap();
    client
        .atext_to_speech("Bonjour", llmax::model!("tts-1"))
        .project("voice")
        .await
        .unwrap();
    let records = spy.records.lock().unwrap().clone();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].scope, Scope::new().tenant("acme").user("alice"));
    assert_eq!(
        records[1].scope,
        Scope::new().tenant("acme").project("voice")
    );
    let gated = spy.gated.lock().unwrap().clone();
    assert_eq!(gated[0].call_id, records[0].call_id);
    // An embeddings call has no output tokens: its bound is its input.
    assert!(gated[0].max_cost.is_some());
    // Speech is billed per character, which the gate does not bound.
    assert_eq!(gated[1].max_cost, None);
}

#[tokio::test]
async fn the_client_budget_is_checked_before_the_hooks_gate() {
    // A gate may reserve the call's cost: a refusal after it would leave
    // the reservation held, so the client's own budget comes first.
    let server = openai_server().await;
    let spy = Spy {
        spent: Some(Usd::dollars(5)),
        ..Spy::default()
    };
    let client = MultiAIClient::builder()
        .deployment(
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(server.uri())
                .api_key("sk-test"),
        )
        .hooks(spy.clone())
        .budget(Usd::dollars(1))
        .build()
        .unwrap();
    let error = client
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");
    assert!(spy.gated.lock().unwrap().is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Every call its gate let through brings exactly one of a record (it
/// reached a provider, even to fail there) or a release (it reached none).
#[tokio::test]
async fn a_call_that_reached_no_provider_is_released_not_accounted() {
    let spy = Spy::default();
    let server = openai_server().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let unreachable = MultiAIClient::builder()
        .deployment(
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(&dead)
                .api_key("sk-test"),
        )
        .hooks(spy.clone())
        .build()
        .unwrap();
    let failed = unreachable
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .tries(2)
        .await;
    assert!(failed.is_err());
    let gated = spy.gated.lock().unwrap().clone();
    assert_eq!(gated.len(), 1);
    assert_eq!(*spy.released.lock().unwrap(), vec![gated[0].call_id]);
    assert!(spy.records.lock().unwrap().is_empty());

    // Reached (and answered): a record, no release.
    client(&server, &spy)
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .await
        .unwrap();
    assert_eq!(spy.released.lock().unwrap().len(), 1);
    assert_eq!(spy.records.lock().unwrap().len(), 1);
    // Refused by the gate: neither (nothing to release: it reserved nothing).
    let refused = client(&server, &spy)
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .user("mallory")
        .await;
    assert!(matches!(refused, Err(Error::Refused(_))));
    assert_eq!(spy.released.lock().unwrap().len(), 1);
    assert_eq!(spy.records.lock().unwrap().len(), 1);
}
