//! The ledger on SQLite: records stored once, nothing dropped silently,
//! budgets across processes sharing the file, reports and the command.

mod support;

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use llmax::{Message, Model, UsageHooks, UsageRecord, Usd};
use llmax_ledger::{Budget, Dimension, Ledger, Period, Report, ReportRow, ScopeKind};
use support::scenarios::{self, REPLY_COST};
use support::{mock_client, sqlite_file};

/// Hooks that keep the records, to hand them to a ledger by hand.
#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Vec<UsageRecord>>>);

impl UsageHooks for Keep {
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        self.0.lock().unwrap().push(record);
        Box::pin(async {})
    }
}

async fn records(n: usize) -> Vec<UsageRecord> {
    let keep = Keep::default();
    let client = mock_client(keep.clone());
    for i in 0..n {
        client
            .ainvoke(&[Message::user(format!("call {i}"))], Model::Gpt4oMini)
            .user("alice")
            .await
            .unwrap();
    }
    keep.0.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_sum_exactly() {
    let (_dir, path) = sqlite_file();
    scenarios::fleet(&path, 4, 100).await;
}

#[tokio::test]
async fn a_record_written_again_counts_once() {
    let (_dir, path) = sqlite_file();
    let records = records(3).await;
    let ledger = Ledger::open(&path).await.unwrap();
    for record in records.iter().chain(&records) {
        ledger.increment_usage(record.clone()).await;
    }
    let stats = ledger.close().await;
    assert_eq!((stats.written, stats.duplicates), (3, 3), "{stats:?}");
    // Another process, the same records: nothing new.
    let again = Ledger::open(&path).await.unwrap();
    for record in &records {
        again.increment_usage(record.clone()).await;
    }
    let stats = again.close().await;
    assert_eq!((stats.written, stats.duplicates), (0, 3), "{stats:?}");
    let ledger = Ledger::open(&path).await.unwrap();
    let total = ledger.report(&Report::by([])).await.unwrap();
    assert_eq!(total[0].calls, 3);
    let cost = records
        .iter()
        .fold(Usd::ZERO, |sum, r| sum.saturating_add(r.cost));
    assert_eq!(total[0].cost, cost);
}

#[tokio::test]
async fn what_cannot_be_kept_is_counted_never_silently_dropped() {
    let (_dir, path) = sqlite_file();
    let records = records(10).await;
    let ledger = Ledger::builder(&path)
        .queue_capacity(4)
        .open()
        .await
        .unwrap();
    // On this one-thread runtime the writer cannot run between these
    // hand-overs: the queue fills at 4.
    for record in &records {
        ledger.increment_usage(record.clone()).await;
    }
    assert_eq!(ledger.stats().dropped, 6);
    assert_eq!(ledger.stats().pending, 4);
    let stats = ledger.close().await;
    assert_eq!((stats.written, stats.dropped, stats.pending), (4, 6, 0));
    // Closed: a late record is counted as dropped, not lost in silence.
    ledger.increment_usage(records[0].clone()).await;
    assert_eq!(ledger.stats().dropped, 7);
}

#[tokio::test]
async fn the_last_handle_dropped_flushes_the_queue() {
    let (_dir, path) = sqlite_file();
    let records = records(5).await;
    let ledger = Ledger::open(&path).await.unwrap();
    for record in &records {
        ledger.increment_usage(record.clone()).await;
    }
    drop(ledger);
    let reader = Ledger::open(&path).await.unwrap();
    let mut calls = 0;
    for _ in 0..100 {
        calls = reader.report(&Report::by([])).await.unwrap()[0].calls;
        if calls == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(calls, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_user_budget_holds_across_processes() {
    let (_dir, path) = sqlite_file();
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run = scenarios::budget_across(&path, 4, 8, limit, false).await;
    assert!(run.refused > 0, "{run:?}");
    // Refused only once the limit was reached...
    assert!(run.spent >= limit, "{run:?}");
    // ...and passed by at most the documented bound: one call in flight
    // and one record being written per process.
    let bound = Usd::from_picos(REPLY_COST.picos() * 4 * 2);
    assert!(run.spent <= limit.saturating_add(bound), "{run:?}");
}

/// Runs only as a child of the test below (see `scenarios::budget_child`).
#[tokio::test]
async fn budget_child() {
    scenarios::budget_child().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_user_budget_holds_across_os_processes_sharing_the_file() {
    if std::env::var(scenarios::CHILD).is_ok() {
        return;
    }
    let (_dir, path) = sqlite_file();
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run = scenarios::budget_across_os_processes(&path, "budget_child", 4, 8, limit, true).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent <= limit, "{run:?}");
    assert!(run.allowed >= 8, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_keep_the_spend_under_the_limit() {
    let (_dir, path) = sqlite_file();
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run = scenarios::budget_across(&path, 4, 8, limit, true).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent <= limit, "{run:?}");
    // Each reservation (400 output tokens, the body as input) is above the
    // real cost, so fewer calls go than the limit would allow at their
    // real cost, but not fewer than at their reserved cost.
    assert!(run.allowed >= 8, "{run:?}");
}

#[tokio::test]
async fn reports_group_spend_and_tokens_and_the_command_prints_them() {
    let (_dir, path) = sqlite_file();
    let ledger = Ledger::open(&path).await.unwrap();
    let client = mock_client(ledger.clone());
    let mut alice = Usd::ZERO;
    for (i, user) in ["alice", "bob", "alice"].iter().enumerate() {
        let response = client
            .ainvoke(&[Message::user(format!("question {i}"))], Model::Gpt4oMini)
            .user(*user)
            .project("faq")
            .await
            .unwrap();
        if *user == "alice" {
            alice = alice.saturating_add(response.cost);
        }
    }
    ledger.flush().await;
    let by_user = ledger
        .report(&Report::by([Dimension::User, Dimension::Project]))
        .await
        .unwrap();
    assert_eq!(by_user.len(), 2);
    assert_eq!(
        by_user[0].keys,
        vec![Some("alice".to_owned()), Some("faq".to_owned())]
    );
    assert_eq!(by_user[0].calls, 2);
    assert_eq!(by_user[0].cost, alice);
    assert!(by_user[0].input_tokens > 0 && by_user[0].output_tokens > 0);
    let table = ReportRow::table(&[Dimension::User, Dimension::Project], &by_user);
    assert!(
        table.lines().next().unwrap().starts_with("user "),
        "{table}"
    );
    assert!(table.contains("alice"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("total"),
        "{table}"
    );
    assert!(matches!(
        ledger.report(&Report::by([]).since("yesterday")).await,
        Err(llmax_ledger::Error::InvalidArgument(_))
    ));
    ledger.close().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmax-ledger"))
        .args(["report", "--db", &path, "--by", "user,model"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 4, "{printed}");
    assert!(lines[0].starts_with("user ") && lines[0].contains("cost (USD)"));
    assert!(lines[1].starts_with("alice") && lines[1].contains("gpt-4o-mini"));
    assert!(lines[1].contains(&alice.to_string()), "{printed}");
    assert!(lines[3].starts_with("total"));

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_llmax-ledger"))
        .args(["report", "--db", &path, "--by", "colour"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown dimension `colour`"));
}

#[tokio::test]
async fn budgets_per_tenant_per_month_and_for_all_calls_in_total() {
    let (_dir, path) = sqlite_file();
    let question = [Message::user("How much?")];
    // A first call, of another tenant, tells what one such call costs.
    let probe = Ledger::open(&path).await.unwrap();
    let cost = mock_client(probe.clone())
        .ainvoke(&question, Model::Gpt4oMini)
        .tenant("initech")
        .await
        .unwrap()
        .cost;
    probe.close().await;
    let times = |n: u64| Usd::from_picos(cost.picos() * n);

    let ledger = Ledger::builder(&path)
        .budget(Budget::new(ScopeKind::Tenant, Period::Month, times(3)).only("acme"))
        .budget(Budget::new(ScopeKind::All, Period::Total, times(6)))
        .open()
        .await
        .unwrap();
    let client = mock_client(ledger.clone());
    let call = |tenant: &'static str| {
        let client = client.clone();
        async move {
            client
                .ainvoke(&[Message::user("How much?")], Model::Gpt4oMini)
                .tenant(tenant)
                .await
        }
    };
    // acme: refused once its month has reached 3 calls' worth.
    for _ in 0..3 {
        call("acme").await.unwrap();
    }
    match call("acme").await {
        Err(llmax::Error::Refused(refusal)) => {
            assert!(
                refusal.limit.starts_with("tenant acme, month "),
                "{refusal}"
            );
            assert_eq!(refusal.spent, times(3));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // globex has no tenant budget, but every call counts towards the total
    // of 6: 1 (initech) + 3 (acme) + 2 go.
    call("globex").await.unwrap();
    call("globex").await.unwrap();
    match call("globex").await {
        Err(llmax::Error::Refused(refusal)) => {
            assert_eq!(refusal.limit, "all calls, all time");
            assert_eq!((refusal.spent, refusal.budget), (times(6), times(6)));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let stats = ledger.close().await;
    assert_eq!(stats.written, 5);
}

/// A call its gate reserved for that never reaches a provider releases its
/// reservation at once: the next call of the same user has the whole
/// budget, not the budget less a reservation held until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_reached_no_provider_releases_its_reservation() {
    let (_dir, path) = sqlite_file();
    // Room for one call's maximum cost (400 output tokens of gpt-4o, about
    // $0.0040), not for two.
    let limit: Usd = "0.006".parse().unwrap();
    let ledger = Ledger::builder(&path)
        .budget(Budget::new(ScopeKind::User, Period::Day, limit))
        .reserve(true)
        .open()
        .await
        .unwrap();
    // A port nobody listens on: the connection is refused, nothing sent.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let server = support::openai_server().await;
    let unreachable = support::openai_client(&dead, ledger.clone());
    let live = support::openai_client(&server.uri(), ledger.clone());

    let failed = unreachable
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .max_tokens(400)
        .tries(1)
        .user("alice")
        .await;
    assert!(
        matches!(failed, Err(ref error) if !matches!(error, llmax::Error::Refused(_))),
        "{failed:?}"
    );
    let answered = live
        .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
        .max_tokens(400)
        .user("alice")
        .await;
    assert!(
        answered.is_ok(),
        "the released reservation still counts: {answered:?}"
    );
    let stats = ledger.close().await;
    assert_eq!(stats.dropped, 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
