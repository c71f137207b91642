//! The PostgreSQL server stopped for a few seconds in the middle of a run,
//! then restarted: nothing lost, nothing doubled. The test runs a cluster of
//! its own (it stops it), from the PostgreSQL binaries `support` finds.

mod support;

use std::time::Duration;

use llmax::{Error, Message, Model, Usd};
use llmax_ledger::{Budget, Ledger, Period, Report, ScopeKind};
use support::{Cluster, database_on, mock_client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_wait_out_an_outage_and_are_written_once() {
    let Some(cluster) = Cluster::start() else {
        assert!(
            !support::postgres_required(),
            "PostgreSQL is required but its binaries were not found"
        );
        eprintln!("skipped: PostgreSQL is not installed");
        return;
    };
    let cluster = std::sync::Arc::new(cluster);
    let url = database_on(&cluster.url(), "outage").await;
    let ledger = Ledger::builder(&url).open().await.unwrap();
    let client = mock_client(ledger.clone());
    // Budgeted ledgers: by default a gate that cannot reach the database
    // refuses the call; allow_when_unavailable lets it go.
    let budget = || Budget::new(ScopeKind::User, Period::Day, Usd::dollars(100));
    let strict = Ledger::builder(&url).budget(budget()).open().await.unwrap();
    let lenient = Ledger::builder(&url)
        .budget(budget())
        .allow_when_unavailable(true)
        .open()
        .await
        .unwrap();
    let (strict_ledger, lenient_ledger) = (strict.clone(), lenient.clone());
    let (strict, lenient) = (mock_client(strict), mock_client(lenient));
    let messages = [Message::user("Hi")];
    let bob_first = strict
        .ainvoke(&messages, Model::Gpt4oMini)
        .user("bob")
        .await
        .expect("the database is up: within budget")
        .cost;
    let mut expected = Usd::ZERO;
    let mut calls = 0u64;
    let call = async |n: u64| {
        let response = client
            .ainvoke(&[Message::user(format!("call {n}"))], Model::Gpt4oMini)
            .user("alice")
            .await
            .expect("calls never wait for the ledger");
        response.cost
    };

    for _ in 0..200 {
        expected = expected.saturating_add(call(calls).await);
        calls += 1;
    }
    ledger.flush().await;
    assert_eq!(ledger.stats().written, 200);

    let stopper = cluster.clone();
    tokio::task::spawn_blocking(move || stopper.stop_server())
        .await
        .unwrap();
    // Three seconds of calls with the database down.
    let down = tokio::time::Instant::now();
    while down.elapsed() < Duration::from_secs(3) {
        expected = expected.saturating_add(call(calls).await);
        calls += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match strict
        .ainvoke(&messages, Model::Gpt4oMini)
        .user("bob")
        .await
    {
        Err(Error::Refused(refusal)) => {
            assert!(refusal.limit.starts_with("ledger unavailable"), "{refusal}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let response = lenient
        .ainvoke(&messages, Model::Gpt4oMini)
        .user("bob")
        .await
        .expect("allowed when unavailable");
    let bob = bob_first.saturating_add(response.cost);
    let during = ledger.stats();
    assert!(during.pending > 0, "{during:?}");
    assert_eq!(during.written, 200, "{during:?}");

    let starter = cluster.clone();
    tokio::task::spawn_blocking(move || starter.start_server())
        .await
        .unwrap();
    for _ in 0..200 {
        expected = expected.saturating_add(call(calls).await);
        calls += 1;
    }
    // Bob's two calls went through the budgeted ledgers.
    assert_eq!(strict_ledger.close().await.written, 1);
    assert_eq!(lenient_ledger.close().await.written, 1);
    let stats = ledger.close().await;
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert!(stats.write_errors > 0, "the outage was seen: {stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.written + stats.duplicates, calls, "{stats:?}");

    let reader = Ledger::open(&url).await.unwrap();
    let total = reader.report(&Report::by([])).await.unwrap();
    assert_eq!(total[0].calls, calls + 2, "nothing lost, nothing doubled");
    assert_eq!(total[0].cost, expected.saturating_add(bob));
    reader.close().await;
}
