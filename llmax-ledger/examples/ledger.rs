//! The README's ledger section, runnable: a SQLite ledger (or the database
//! in `LLMAX_LEDGER_URL`, a `postgres://` URL for a fleet), a daily budget
//! per user, calls on the mock provider, and the report.
//!
//! `cargo run -p llmax-ledger --example ledger`

use llmax::{Deployment, Error, Message, Model, MultiAIClient, Provider, Usd, usage::Scope};
use llmax_ledger::{Budget, Dimension, Ledger, Period, Report, ReportRow, ScopeKind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("llmax-ledger-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("usage.db").display().to_string();
    let url = std::env::var("LLMAX_LEDGER_URL").unwrap_or(file);

    // One machine: `Ledger::open("usage.db")`. A fleet: the same call with
    // "postgres://user:password@host/db", in every process.
    let ledger = Ledger::builder(&url)
        // Each user may spend a tenth of a cent a day, across all processes.
        .budget(Budget::new(ScopeKind::User, Period::Day, "0.001".parse()?))
        .open()
        .await?;
    let client = MultiAIClient::builder()
        .deployment(Deployment::new(Model::Gpt4oMini, Provider::Mock))
        .scope(Scope::new().tenant("acme"))
        .hooks(ledger.clone())
        .build()?;

    let question = [Message::user(
        "Summarize the plot of Hamlet in one long paragraph.",
    )];
    let mut refused = 0;
    for _ in 0..200 {
        match client
            .ainvoke(&question, Model::Gpt4oMini)
            .user("alice")
            .await
        {
            Ok(_) => {}
            Err(Error::Refused(refusal)) => {
                refused += 1;
                if refused == 1 {
                    println!("refused, nothing sent: {refusal}");
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    client
        .ainvoke(&question, Model::Gpt4oMini)
        .user("bob")
        .await?;
    ledger.flush().await;

    let by = [Dimension::Day, Dimension::User, Dimension::Model];
    let rows = ledger.report(&Report::by(by)).await?;
    print!("{}", ReportRow::table(&by, &rows));
    let alice = &rows[0];
    assert!(refused > 0 && alice.cost >= Usd::from_picos(1_000_000_000));
    let stats = ledger.close().await;
    assert_eq!(stats.dropped, 0);
    if url.ends_with("usage.db") {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
