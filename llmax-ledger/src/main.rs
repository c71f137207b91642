//! `llmax-ledger report --db usage.db [--by model,day] [--since YYYY-MM-DD]
//! [--until YYYY-MM-DD] [--user U] [--tenant T] [--project P]`: prints a
//! ledger's spend and tokens as a table. `--db` also takes a `postgres://`
//! URL, or the `LLMAX_LEDGER_URL` variable.

use std::process::ExitCode;

use llmax_ledger::{Dimension, Ledger, Report, ReportRow};

const USAGE: &str = "usage: llmax-ledger report --db <file or URL> [--by day,model,provider,operation,user,tenant,project] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--user U] [--tenant T] [--project P]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("llmax-ledger: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("report") => {}
        Some("-h" | "--help") | None => return Err("a command is needed".to_owned()),
        Some(other) => return Err(format!("unknown command `{other}`")),
    }
    let mut db = std::env::var("LLMAX_LEDGER_URL").ok();
    let mut dimensions = vec![Dimension::Day, Dimension::Model];
    let mut report = Report::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--db" => db = Some(value()?),
            "--by" => {
                dimensions = value()?
                    .split(',')
                    .filter(|name| !name.is_empty())
                    .map(|name| name.trim().parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--since" => report = report.since(value()?),
            "--until" => report = report.until(value()?),
            "--user" => report = report.user(value()?),
            "--tenant" => report = report.tenant(value()?),
            "--project" => report = report.project(value()?),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let db = db.ok_or("--db is needed")?;
    let query = report.with_dimensions(dimensions.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let ledger = Ledger::open(&db).await.map_err(|e| e.to_string())?;
        let rows = ledger.report(&query).await.map_err(|e| e.to_string());
        ledger.close().await;
        Ok(ReportRow::table(&dimensions, &rows?))
    })
}
