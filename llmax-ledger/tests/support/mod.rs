//! Test support: a real PostgreSQL server, a fresh database per test, and
//! clients on llmax's in-process mock provider or on a local OpenAI server.
//!
//! PostgreSQL: `LLMAX_LEDGER_POSTGRES_URL` (a superuser URL; `.ci/run`
//! starts a cluster and sets it), else a cluster started here in a
//! temporary folder from the binaries in `LLMAX_LEDGER_POSTGRES_BIN`,
//! `pg_config --bindir` or `/usr/lib/postgresql/*/bin`. Without either the
//! PostgreSQL tests are skipped, unless `LLMAX_LEDGER_POSTGRES_REQUIRED=1`
//! (set by `.ci/run`), which makes it a failure.

#![allow(dead_code)]

pub mod scenarios;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use llmax::{Deployment, Model, MultiAIClient, Provider};
use sqlx::Connection;

/// Whether the PostgreSQL tests must run (CI).
pub fn postgres_required() -> bool {
    std::env::var("LLMAX_LEDGER_POSTGRES_REQUIRED").is_ok_and(|v| v == "1")
}

fn skip_or_fail<T>(why: &str) -> Option<T> {
    assert!(
        !postgres_required(),
        "PostgreSQL is required (LLMAX_LEDGER_POSTGRES_REQUIRED=1) but {why}"
    );
    eprintln!("skipped: {why}");
    None
}

/// The folder of PostgreSQL's server binaries, if installed.
pub fn postgres_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LLMAX_LEDGER_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// A PostgreSQL cluster in a temporary folder, on a loopback port, stopped
/// and removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Cluster {
    /// initdb and start; `None` if PostgreSQL is not installed.
    pub fn start() -> Option<Cluster> {
        let bin = postgres_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("llmax-ledger-pg")
            .tempdir()
            .expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster { bin, dir, port };
        if is_root() {
            // initdb and postgres refuse to run as root: the cluster
            // belongs to the `postgres` user the Debian package creates.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster folder failed");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-l",
                &self.dir.path().join("log").display().to_string(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server (fast: open sessions are cut, as in an outage).
    pub fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// The superuser URL of the `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(if is_root() { "runuser" } else { "true" })
            .args(if is_root() {
                vec!["-u", "postgres", "--"]
            } else {
                vec![]
            })
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A database for one test, on CI's server or on a cluster of its own
/// (stopped and removed with this value).
pub struct Database {
    pub url: String,
    _cluster: Option<Cluster>,
}

/// A fresh, empty database on a PostgreSQL server, for one test; `None`
/// (the test returns) when PostgreSQL is unavailable outside CI.
pub async fn postgres_database(name: &str) -> Option<Database> {
    if let Ok(server) = std::env::var("LLMAX_LEDGER_POSTGRES_URL") {
        let url = database_on(&server, name).await;
        return Some(Database {
            url,
            _cluster: None,
        });
    }
    let Some(cluster) = Cluster::start() else {
        return skip_or_fail("PostgreSQL is not installed");
    };
    let url = database_on(&cluster.url(), name).await;
    Some(Database {
        url,
        _cluster: Some(cluster),
    })
}

/// A fresh database `name` on the server at `server` (a superuser URL).
pub async fn database_on(server: &str, name: &str) -> String {
    let database = format!(
        "{name}_{}",
        llmax::usage::CallId::new()
            .to_string()
            .get(..12)
            .unwrap_or("x")
    );
    let mut conn = sqlx::PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{database}")
}

/// A SQLite file in a fresh temporary folder (kept as long as the folder).
pub fn sqlite_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("usage.db").display().to_string();
    (dir, path)
}

/// A client on llmax's in-process mock provider (no network at all).
pub fn mock_client(hooks: impl llmax::UsageHooks) -> MultiAIClient {
    MultiAIClient::builder()
        .deployment(Deployment::new(Model::Gpt4oMini, Provider::Mock))
        .hooks(hooks)
        .build()
        .expect("a mock deployment")
}

/// A client on a local server speaking OpenAI's wire format.
pub fn openai_client(endpoint: &str, hooks: impl llmax::UsageHooks) -> MultiAIClient {
    MultiAIClient::builder()
        .deployment(
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(endpoint)
                .api_key("sk-test"),
        )
        .hooks(hooks)
        .build()
        .expect("an OpenAI deployment")
}

/// The recorded OpenAI reply the local server answers with: 16 input and
/// 363 output tokens.
pub fn openai_reply() -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/openai/openai-text.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A local OpenAI server answering every chat call with the recorded reply.
pub async fn openai_server() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_raw(openai_reply(), "application/json"),
        )
        .mount(&server)
        .await;
    server
}

/// Polls `check` every 20 ms for up to `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}
