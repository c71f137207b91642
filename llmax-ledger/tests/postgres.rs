//! The ledger on a real PostgreSQL server (see `support` for where it comes
//! from): a fleet writing through one database, and budgets across it.

mod support;

use llmax::Usd;
use support::postgres_database;
use support::scenarios::{self, REPLY_COST};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_500_calls_store_2000_rows_summing_exactly() {
    let Some(db) = postgres_database("fleet").await else {
        return;
    };
    scenarios::fleet(&db.url, 4, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_user_budget_holds_across_processes() {
    let Some(db) = postgres_database("budget").await else {
        return;
    };
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run = scenarios::budget_across(&db.url, 4, 8, limit, false).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent >= limit, "{run:?}");
    // The documented bound: one call in flight and one record being
    // written per process.
    let bound = Usd::from_picos(REPLY_COST.picos() * 4 * 2);
    assert!(run.spent <= limit.saturating_add(bound), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_keep_the_spend_under_the_limit() {
    let Some(db) = postgres_database("reserve").await else {
        return;
    };
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run = scenarios::budget_across(&db.url, 4, 8, limit, true).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent <= limit, "{run:?}");
    assert!(run.allowed >= 8, "{run:?}");
}

/// Runs only as a child of the test below (see `scenarios::budget_child`).
#[tokio::test]
async fn budget_child() {
    scenarios::budget_child().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_user_budget_holds_across_os_processes() {
    if std::env::var(scenarios::CHILD).is_ok() {
        return;
    }
    let Some(db) = postgres_database("processes").await else {
        return;
    };
    let limit = Usd::from_picos(REPLY_COST.picos() * 10 + REPLY_COST.picos() / 2);
    let run =
        scenarios::budget_across_os_processes(&db.url, "budget_child", 4, 8, limit, false).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent >= limit, "{run:?}");
    let bound = Usd::from_picos(REPLY_COST.picos() * 4 * 2);
    assert!(run.spent <= limit.saturating_add(bound), "{run:?}");
    // With reservations, in a fresh database: under the limit.
    let Some(db) = postgres_database("processes_reserve").await else {
        return;
    };
    let run =
        scenarios::budget_across_os_processes(&db.url, "budget_child", 4, 8, limit, true).await;
    assert!(run.refused > 0, "{run:?}");
    assert!(run.spent <= limit, "{run:?}");
}
