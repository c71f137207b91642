//! The scenarios run on both backends: a fleet writing through one
//! database, and a per-user daily budget across processes.

use llmax::{Error, Message, Model, Usd};
use llmax_ledger::{Budget, Dimension, Ledger, Period, Report, ScopeKind};

use super::{mock_client, openai_client, openai_server};

/// gpt-4o on OpenAI, for the recorded reply's 16 input and 363 output
/// tokens: $2.50 and $10 per million.
pub const REPLY_COST: Usd = Usd::from_picos(16 * 2_500_000 + 363 * 10_000_000);

/// `processes` ledgers (each its own pool, as separate processes would
/// have), each making `calls` calls on the mock provider: every call
/// stored once, the sum exact to the pico-dollar.
pub async fn fleet(url: &str, processes: usize, calls: usize) {
    let mut tasks = Vec::new();
    for process in 0..processes {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let ledger = Ledger::builder(&url)
                .max_connections(2)
                .open()
                .await
                .expect("open the ledger");
            let client = mock_client(ledger.clone());
            let mut spent = Usd::ZERO;
            for call in 0..calls {
                let messages = [Message::user(format!("process {process}, call {call}"))];
                let response = client
                    .ainvoke(&messages, Model::Gpt4oMini)
                    .user(format!("user-{}", call % 7))
                    .tenant(format!("tenant-{process}"))
                    .await
                    .expect("a mock call");
                assert!(response.cost > Usd::ZERO);
                spent = spent.saturating_add(response.cost);
            }
            let stats = ledger.close().await;
            assert_eq!(stats.written, calls as u64, "{stats:?}");
            assert_eq!(stats.dropped, 0, "{stats:?}");
            spent
        }));
    }
    let mut expected = Usd::ZERO;
    for task in tasks {
        expected = expected.saturating_add(task.await.expect("a process"));
    }
    let ledger = Ledger::open(url).await.expect("reopen");
    let total = ledger.report(&Report::by([])).await.expect("report");
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].calls, (processes * calls) as u64);
    assert_eq!(total[0].cost, expected, "sums exact to the pico-dollar");
    let per_tenant = ledger
        .report(&Report::by([Dimension::Tenant]))
        .await
        .expect("report");
    assert_eq!(per_tenant.len(), processes);
    assert!(per_tenant.iter().all(|row| row.calls == calls as u64));
    let per_model = ledger
        .report(&Report::by([Dimension::Model, Dimension::Provider]))
        .await
        .expect("report");
    assert_eq!(
        per_model[0].keys,
        vec![Some("gpt-4o-mini".to_owned()), Some("mock".to_owned())]
    );
    ledger.close().await;
}

/// What the budget scenario saw.
#[derive(Debug, Default)]
pub struct BudgetRun {
    pub allowed: usize,
    pub refused: usize,
    pub spent: Usd,
}

/// `processes` ledgers share a per-user daily budget of `limit`; each makes
/// `calls` sequential calls for user alice on a local OpenAI server. The
/// calls past the budget are refused with nothing sent.
pub async fn budget_across(
    url: &str,
    processes: usize,
    calls: usize,
    limit: Usd,
    reserve: bool,
) -> BudgetRun {
    let server = openai_server().await;
    let mut tasks = Vec::new();
    for _ in 0..processes {
        let url = url.to_owned();
        let endpoint = server.uri();
        tasks.push(tokio::spawn(async move {
            let ledger = Ledger::builder(&url)
                .max_connections(2)
                .budget(Budget::new(ScopeKind::User, Period::Day, limit))
                .reserve(reserve)
                .open()
                .await
                .expect("open the ledger");
            let client = openai_client(&endpoint, ledger.clone());
            let mut run = BudgetRun::default();
            for _ in 0..calls {
                let result = client
                    .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
                    .max_tokens(400)
                    .user("alice")
                    .await;
                match result {
                    Ok(response) => {
                        run.allowed += 1;
                        run.spent = run.spent.saturating_add(response.cost);
                    }
                    Err(Error::Refused(refusal)) => {
                        assert!(refusal.limit.starts_with("user alice, day "), "{refusal}");
                        assert_eq!(refusal.budget, limit);
                        run.refused += 1;
                    }
                    Err(other) => panic!("unexpected error: {other:?}"),
                }
            }
            // Another user's budget is their own.
            client
                .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
                .max_tokens(400)
                .user("bob")
                .await
                .expect("bob has his own budget");
            let stats = ledger.close().await;
            assert_eq!(stats.dropped, 0);
            run
        }));
    }
    let mut total = BudgetRun::default();
    for task in tasks {
        let run = task.await.expect("a process");
        total.allowed += run.allowed;
        total.refused += run.refused;
        total.spent = total.spent.saturating_add(run.spent);
    }
    // Nothing sent for a refused call: the server saw the allowed calls
    // and bob's, no more.
    let received = server.received_requests().await.expect("recording").len();
    assert_eq!(received, total.allowed + processes);
    let ledger = Ledger::open(url).await.expect("reopen");
    let alice = ledger
        .report(&Report::by([]).user("alice"))
        .await
        .expect("report");
    assert_eq!(alice[0].calls, total.allowed as u64);
    assert_eq!(alice[0].cost, total.spent);
    ledger.close().await;
    total
}

/// The environment variable that makes a test binary a child of
/// [`budget_across_os_processes`].
pub const CHILD: &str = "LLMAX_LEDGER_TEST_CHILD";

/// [`budget_across`] with real operating-system processes: this test
/// binary started `processes` times, each running `child_test` (which
/// calls [`budget_child`]), all on one local OpenAI server.
pub async fn budget_across_os_processes(
    url: &str,
    child_test: &str,
    processes: usize,
    calls: usize,
    limit: Usd,
    reserve: bool,
) -> BudgetRun {
    let server = openai_server().await;
    let exe = std::env::current_exe().expect("the test binary");
    let mut children = Vec::new();
    for _ in 0..processes {
        children.push(
            tokio::process::Command::new(&exe)
                .args([child_test, "--exact", "--nocapture", "--test-threads=1"])
                .env(
                    CHILD,
                    format!("{url} {} {calls} {} {reserve}", server.uri(), limit.picos()),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("a child process"),
        );
    }
    let mut total = BudgetRun::default();
    for child in children {
        let out = child.wait_with_output().await.expect("the child ends");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|line| Some(line.split_once("CHILD RESULT ")?.1))
            .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"));
        let numbers: Vec<u64> = line
            .split(' ')
            .map(|n| n.parse().expect("a number"))
            .collect();
        total.allowed += numbers[0] as usize;
        total.refused += numbers[1] as usize;
        total.spent = total.spent.saturating_add(Usd::from_picos(numbers[2]));
    }
    let received = server.received_requests().await.expect("recording").len();
    assert_eq!(received, total.allowed, "nothing sent for a refused call");
    let ledger = Ledger::open(url).await.expect("reopen");
    let alice = ledger
        .report(&Report::by([]).user("alice"))
        .await
        .expect("report");
    assert_eq!(alice[0].calls, total.allowed as u64);
    assert_eq!(alice[0].cost, total.spent);
    ledger.close().await;
    total
}

/// A child process of [`budget_across_os_processes`]: makes its calls for
/// alice through a ledger of its own and prints what happened. Does nothing
/// outside such a child.
pub async fn budget_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let (url, endpoint) = (parts[0], parts[1]);
    let calls: usize = parts[2].parse().expect("calls");
    let limit = Usd::from_picos(parts[3].parse().expect("limit"));
    let reserve = parts[4] == "true";
    let ledger = Ledger::builder(url)
        .max_connections(2)
        .budget(Budget::new(ScopeKind::User, Period::Day, limit))
        .reserve(reserve)
        .open()
        .await
        .expect("open the ledger");
    let client = openai_client(endpoint, ledger.clone());
    let mut run = BudgetRun::default();
    for _ in 0..calls {
        match client
            .ainvoke(&[Message::user("Hi")], Model::Gpt4o)
            .max_tokens(400)
            .user("alice")
            .await
        {
            Ok(response) => {
                run.allowed += 1;
                run.spent = run.spent.saturating_add(response.cost);
            }
            Err(Error::Refused(_)) => run.refused += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    let stats = ledger.close().await;
    assert_eq!(stats.dropped, 0);
    println!(
        "CHILD RESULT {} {} {}",
        run.allowed,
        run.refused,
        run.spent.picos()
    );
}
