//! The SQL: the pool, migrations, the batched idempotent insert, budget
//! sums and reservations. Written once for SQLite and PostgreSQL through
//! sqlx's `Any` driver: `$N` placeholders and `ON CONFLICT` are understood
//! by both, amounts are `BIGINT` pico-dollars, and every `SUM` is cast back
//! to `BIGINT` (PostgreSQL sums `BIGINT`s into `NUMERIC`).

use std::borrow::Cow;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Arguments, Connection, Executor};

use crate::Error;
use crate::budget::ScopeKind;

/// The migrations, shipped in the crate and run on open (`_sqlx_migrations`
/// records which ran; PostgreSQL runs them under an advisory lock, so a
/// fleet opening at once migrates once).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "calls and reservations",
    include_str!("../migrations/0001_calls.sql"),
)];

/// The most rows one `INSERT` carries (21 parameters each: far under
/// SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement).
pub(crate) const MAX_BATCH: usize = 256;

#[derive(Debug)]
struct Shipped;

impl<'s> MigrationSource<'s> for Shipped {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The database behind a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A URL sqlx takes: a bare path is a SQLite file, and SQLite files are
/// created when missing unless the URL says otherwise.
pub(crate) fn normalize(url: &str) -> Result<(String, Backend), Error> {
    let invalid = |message: &str| Error::InvalidUrl {
        message: format!("{message} (got `{}`)", redact(url)),
    };
    if url.is_empty() {
        return Err(invalid("empty database URL"));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_owned(), Backend::Postgres));
    }
    let url = if url.starts_with("sqlite:") {
        url.to_owned()
    } else if url.contains("://") {
        return Err(invalid(
            "a ledger takes a sqlite: or postgres:// URL, or a file path",
        ));
    } else {
        format!("sqlite://{url}")
    };
    let url = if url.contains("mode=") || url.contains(":memory:") {
        url
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    Ok((url, Backend::Sqlite))
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub(crate) async fn connect(
    url: &str,
    backend: Backend,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<AnyPool, Error> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL: readers (the gate, reports) never wait for the
                    // writer; NORMAL sync is durable across a process crash.
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|source| Error::Connect {
            url: redact(url),
            source,
        })?;
    let migrator = Migrator::new(Shipped).await.map_err(Error::Migrate)?;
    // sqlx locks migrations across processes on PostgreSQL only: on SQLite
    // two processes opening a new file at once may both run a migration,
    // and the second fails on recording it. The migrations are idempotent
    // (IF NOT EXISTS), so the loser runs the migrator again, which then
    // finds them applied.
    let mut tries = 0;
    loop {
        match migrator.run(&pool).await {
            Ok(()) => return Ok(pool),
            Err(error) if tries < 5 => {
                tries += 1;
                tracing::debug!(%error, "llmax-ledger: migrations raced, again");
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            Err(error) => return Err(Error::Migrate(error)),
        }
    }
}

/// One call's row, as queued and written.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub call_id: String,
    pub at_ms: i64,
    pub day: String,
    pub model: &'static str,
    pub provider: &'static str,
    pub operation: String,
    pub user: Option<String>,
    pub tenant: Option<String>,
    pub project: Option<String>,
    pub cost: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub audio_ms: i64,
    pub images: i64,
    pub characters: i64,
    pub duration_ms: i64,
    pub attempts: i64,
    pub succeeded: bool,
    /// Whether this process reserved the call's cost at its gate: the
    /// reservation then counts for it until the row is written.
    pub reserved: bool,
}

impl Row {
    /// The row's tag for a scope kind, as [`ScopeKind::tag`] reads a scope.
    pub fn tag(&self, kind: ScopeKind) -> Option<&str> {
        match kind {
            ScopeKind::User => self.user.as_deref(),
            ScopeKind::Tenant => self.tenant.as_deref(),
            ScopeKind::Project => self.project.as_deref(),
            ScopeKind::All => Some(""),
        }
    }
}

const COLUMNS: &str = "call_id, at_ms, day, model, provider, operation, user_tag, tenant, project, \
     cost_picos, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, \
     reasoning_tokens, audio_ms, images, characters, duration_ms, attempts, succeeded";
const PER_ROW: usize = 21;

fn bind_error(error: sqlx::error::BoxDynError) -> Error {
    Error::Database(sqlx::Error::Encode(error))
}

/// Writes `rows` in one transaction: inserted once per call id (a row
/// already there is skipped, so a batch retried after a lost commit
/// reply counts nothing twice), and the reservations they settle dropped.
/// Returns how many rows were new.
pub(crate) async fn write(
    pool: &AnyPool,
    backend: Backend,
    rows: &[Row],
    now_ms: i64,
) -> Result<u64, Error> {
    let (sql, args) = values_insert(rows, backend)?;
    let mut tx = pool.begin().await.map_err(Error::Database)?;
    let inserted = sqlx::query_with(&sql, args)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?
        .rows_affected();
    let settled: Vec<&Row> = rows.iter().filter(|row| row.reserved).collect();
    if !settled.is_empty() {
        let placeholders: Vec<String> = (1..=settled.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "DELETE FROM ledger_reservations WHERE call_id IN ({}) OR expires_ms < ${}",
            placeholders.join(","),
            settled.len() + 1
        );
        let mut args = AnyArguments::default();
        for row in &settled {
            args.add(row.call_id.clone()).map_err(bind_error)?;
        }
        args.add(now_ms).map_err(bind_error)?;
        sqlx::query_with(&sql, args)
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
    }
    tx.commit().await.map_err(Error::Database)?;
    Ok(inserted)
}

/// `INSERT ... VALUES (...), (...)`, 21 parameters a row.
fn values_insert(rows: &[Row], backend: Backend) -> Result<(String, AnyArguments<'static>), Error> {
    let mut sql = format!("INSERT INTO ledger_calls ({COLUMNS}) VALUES ");
    let mut args = AnyArguments::default();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..PER_ROW {
            if column > 0 {
                sql.push(',');
            }
            match backend {
                // Anonymous parameters: SQLite looks a named one (`$7`) up
                // by walking its list of names, once per bound value, which
                // made a batch's binding quadratic (85% of the ledger's CPU
                // in a profile). (Tried too: the batch as one JSON
                // parameter unpacked by json_each, 3 times slower.)
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * PER_ROW + column + 1)),
            }
        }
        sql.push(')');
        bind_row(&mut args, row).map_err(bind_error)?;
    }
    sql.push_str(" ON CONFLICT (call_id) DO NOTHING");
    Ok((sql, args))
}

fn bind_row(args: &mut AnyArguments<'_>, row: &Row) -> Result<(), sqlx::error::BoxDynError> {
    args.add(row.call_id.clone())?;
    args.add(row.at_ms)?;
    args.add(row.day.clone())?;
    args.add(row.model)?;
    args.add(row.provider)?;
    args.add(row.operation.clone())?;
    args.add(row.user.clone())?;
    args.add(row.tenant.clone())?;
    args.add(row.project.clone())?;
    args.add(row.cost)?;
    args.add(row.input_tokens)?;
    args.add(row.output_tokens)?;
    args.add(row.cached_input_tokens)?;
    args.add(row.cache_write_tokens)?;
    args.add(row.reasoning_tokens)?;
    args.add(row.audio_ms)?;
    args.add(row.images)?;
    args.add(row.characters)?;
    args.add(row.duration_ms)?;
    args.add(row.attempts)?;
    args.add(i64::from(row.succeeded))?;
    Ok(())
}

/// What one budget counts: a scope tag over a range of days.
pub(crate) struct Window<'a> {
    pub kind: ScopeKind,
    pub tag: &'a str,
    pub from: Option<String>,
    pub until: Option<String>,
}

/// The spend of a window in the database: records, and reservations not
/// expired at `now_ms`.
pub(crate) async fn spent(
    conn: &mut AnyConnection,
    window: &Window<'_>,
    now_ms: i64,
) -> Result<i64, Error> {
    let mut filter = String::new();
    let mut args = AnyArguments::default();
    let mut n = 0;
    let mut next = |filter: &mut String, clause: &str| {
        n += 1;
        filter.push_str(&format!(" AND {clause} ${n}"));
    };
    if let Some(column) = window.kind.column() {
        next(&mut filter, &format!("{column} ="));
        args.add(window.tag.to_owned()).map_err(bind_error)?;
    }
    if let Some(from) = &window.from {
        next(&mut filter, "day >=");
        args.add(from.clone()).map_err(bind_error)?;
    }
    if let Some(until) = &window.until {
        next(&mut filter, "day <");
        args.add(until.clone()).map_err(bind_error)?;
    }
    args.add(now_ms).map_err(bind_error)?;
    let sql = format!(
        "SELECT CAST(COALESCE((SELECT SUM(cost_picos) FROM ledger_calls WHERE 1 = 1{filter}), 0) \
         + COALESCE((SELECT SUM(amount_picos) FROM ledger_reservations WHERE expires_ms > ${}{filter}), 0) AS BIGINT)",
        n + 1
    );
    let (spent,): (i64,) = sqlx::query_as_with(&sql, args)
        .fetch_one(&mut *conn)
        .await
        .map_err(Error::Database)?;
    Ok(spent)
}

/// Holds the scope keys of a reservation for the rest of the transaction,
/// so that two processes reserving in one scope take turns (PostgreSQL:
/// transaction-level advisory locks, taken in a fixed order; SQLite's
/// `BEGIN IMMEDIATE` already serializes writers).
pub(crate) async fn lock(conn: &mut AnyConnection, keys: &[String]) -> Result<(), Error> {
    for key in keys {
        sqlx::query::<Any>("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)")
            .bind(key.clone())
            .execute(&mut *conn)
            .await
            .map_err(Error::Database)?;
    }
    Ok(())
}

/// Holds `amount` for a call until its record settles it or `expires_ms`.
pub(crate) struct Reservation<'a> {
    pub call_id: String,
    pub day: String,
    pub user: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub project: Option<&'a str>,
    pub amount: i64,
    pub expires_ms: i64,
}

pub(crate) async fn reserve(
    conn: &mut AnyConnection,
    reservation: &Reservation<'_>,
) -> Result<(), Error> {
    sqlx::query::<Any>(
        "INSERT INTO ledger_reservations (call_id, day, user_tag, tenant, project, amount_picos, expires_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(reservation.call_id.clone())
    .bind(reservation.day.clone())
    .bind(reservation.user.map(str::to_owned))
    .bind(reservation.tenant.map(str::to_owned))
    .bind(reservation.project.map(str::to_owned))
    .bind(reservation.amount)
    .bind(reservation.expires_ms)
    .execute(&mut *conn)
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// Drops the reservation of a call that never reached a provider (no
/// record will settle it).
pub(crate) async fn release(pool: &AnyPool, call_id: &str) -> Result<(), Error> {
    sqlx::query::<Any>("DELETE FROM ledger_reservations WHERE call_id = $1")
        .bind(call_id.to_owned())
        .execute(pool)
        .await
        .map_err(Error::Database)?;
    Ok(())
}

/// Opens the transaction a reservation is checked and made in.
pub(crate) async fn begin(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<sqlx::Transaction<'_, Any>, Error> {
    match backend {
        // IMMEDIATE takes the write lock first: a deferred transaction
        // that reads then writes could not upgrade its lock while another
        // process holds one, and would fail instead of waiting.
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => conn.begin().await,
    }
    .map_err(Error::Database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            normalize("usage.db").ok(),
            Some(("sqlite://usage.db?mode=rwc".to_owned(), Backend::Sqlite))
        );
        assert_eq!(
            normalize("sqlite://a.db?mode=ro").ok(),
            Some(("sqlite://a.db?mode=ro".to_owned(), Backend::Sqlite))
        );
        assert_eq!(
            normalize("postgres://u:pw@h/db").ok().map(|(_, b)| b),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            normalize("mysql://u:secret@h/db"),
            Err(Error::InvalidUrl { message }) if !message.contains("secret")
        ));
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        let builder = crate::Ledger::builder("postgres://llmax:hunter2@db/usage");
        let shown = format!("{builder:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("llmax:***@db"),
            "{shown}"
        );
    }
}
