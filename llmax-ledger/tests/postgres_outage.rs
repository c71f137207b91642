//! The PostgreSQL server stopped for a few seconds in the middle of a run,
//! then restarted: nothing lost, nothing doubled. The test runs a cluster of
//! its own (it stops it), from the PostgreSQL binaries `support` finds.

mod support;

use std::time::Duration;

use llmax::{Message, Model, Usd};
use llmax_ledger::{Ledger, Report};
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
    let stats = ledger.close().await;
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert!(stats.write_errors > 0, "the outage was seen: {stats:?}");
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.written + stats.duplicates, calls, "{stats:?}");

    let reader = Ledger::open(&url).await.unwrap();
    let total = reader.report(&Report::by([])).await.unwrap();
    assert_eq!(total[0].calls, calls, "nothing lost, nothing doubled");
    assert_eq!(total[0].cost, expected);
    reader.close().await;
}
