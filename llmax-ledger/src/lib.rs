//! A usage ledger for [llmax]: every call's [`UsageRecord`] stored
//! once in SQLite (one machine) or PostgreSQL (a fleet), budgets per user,
//! tenant and project enforced before each call across every process that
//! shares the database, and reports.
//!
//! ```no_run
//! use llmax::{Deployment, MultiAIClient, Provider, Usd};
//! use llmax_ledger::{Budget, Ledger, Period, ScopeKind};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // One machine: a SQLite file, created and migrated on open.
//! let ledger = Ledger::open("usage.db").await?;
//! // A fleet: every process opens the same PostgreSQL database, with the same budgets.
//! let ledger = Ledger::builder("postgres://llmax:secret@db.internal/usage")
//!     .budget(Budget::new(ScopeKind::User, Period::Day, Usd::dollars(2)))
//!     .open()
//!     .await?;
//! let client = MultiAIClient::builder()
//!     .deployment(Deployment::new(llmax::Model::Gpt4oMini, Provider::OpenAi))
//!     .hooks(ledger.clone())
//!     .build()?;
//! let answer = client.ainvoke_to_str(&[llmax::Message::user("Hi")], llmax::Model::Gpt4oMini)
//!     .user("alice")
//!     .await?;
//! ledger.close().await; // writes what is still queued
//! # Ok(()) }
//! ```
//!
//! # How records travel
//!
//! `increment_usage` never waits for the database: it puts the record in a
//! bounded in-memory queue and returns. A writer task drains the queue in
//! batches (up to 256 records, gathered for up to
//! [`LedgerBuilder::write_delay`]), each in one transaction, `INSERT ... ON CONFLICT (call_id) DO
//! NOTHING`: a batch retried after an error (even one whose commit
//! succeeded but whose reply was lost) never counts a call twice. While the
//! database is slow or down the records wait in the queue, and the writer
//! retries with a backoff of up to two seconds. A record that finds the
//! queue full ([`LedgerBuilder::queue_capacity`]) or the ledger closed is
//! logged at `error` level and counted in [`LedgerStats::dropped`]; nothing
//! is dropped silently. [`Ledger::close`] (or the last handle dropped)
//! flushes the queue, waiting at most [`LedgerBuilder::close_timeout`]
//! for the database.
//!
//! # Budgets and their bound
//!
//! Each [`Budget`] that applies to a call's scope is checked by the gate
//! before anything is sent: the scope's spend in the period is the sum of
//! the records in the database, the records still queued in this process,
//! and the live reservations. Without reservations a call is refused once
//! that spend has reached the limit; the spend can then pass the limit by
//! at most **the cost of the calls in flight** when it is crossed (in every
//! process sharing the database), plus the records queued in the other
//! processes' memory (written within the writer's next batch, while the
//! database is up). With [`LedgerBuilder::reserve`], the gate instead
//! reserves the call's maximum cost ([`CallContext::max_cost`]: its
//! `max_tokens` of output and its body's bytes as input tokens), atomically
//! with the check, across processes (PostgreSQL advisory locks per scope,
//! SQLite's write lock), and refuses the call if the reservation would pass
//! the limit: the spend then stays under the limit. A call whose maximum
//! cost is unknown (no `max_tokens` nor a catalog maximum) is checked
//! without a reservation. Reservations are settled by their record, or
//! released at once when the call ends without reaching a provider
//! ([`UsageHooks::release_call`]), or expire
//! ([`LedgerBuilder::reservation_ttl`]) when neither comes (a call its
//! caller dropped mid-flight).
//!
//! If the database cannot answer the gate, the call is refused
//! ([`LedgerBuilder::allow_when_unavailable`] lets it go instead).
//!
//! # Schema
//!
//! `ledger_calls`: one row per call (`call_id` primary key; time `at_ms`
//! and UTC `day`; `model`, `provider`, `operation`; the scope tags
//! `user_tag`, `tenant`, `project`; `cost_picos`, the cost in pico-dollars;
//! the token and unit counts; `duration_ms`, `attempts`, `succeeded`).
//! `ledger_reservations`: the reservations held by gates. Migrations are in
//! the crate's `migrations/` folder and run on open (sqlx's migrator,
//! `_sqlx_migrations` table).

#![warn(missing_docs)]

mod budget;
mod date;
mod report;
mod store;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use llmax::Usd;
use llmax::usage::{CallContext, CallId, Refusal, UsageHooks, UsageRecord};
use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use budget::{Budget, Period, ScopeKind};
pub use report::{Dimension, Report, ReportRow};

use date::{Day, now_ms};
use store::{Backend, Row, Window};

/// What can go wrong opening, writing or reading a ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is neither a SQLite file nor a PostgreSQL URL.
    #[error("invalid ledger URL: {message}")]
    InvalidUrl {
        /// What is wrong with it (the password is never shown).
        message: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the ledger at {url}: {source}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The shipped migrations could not be run.
    #[error("ledger migrations failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("ledger database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A bad argument (a report dimension, a day).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// How a ledger is opened: database, budgets, queue.
#[derive(Clone)]
#[must_use]
pub struct LedgerBuilder {
    url: String,
    budgets: Vec<Budget>,
    reserve: bool,
    reservation_ttl: Duration,
    queue_capacity: usize,
    batch_size: usize,
    write_delay: Option<Duration>,
    close_timeout: Duration,
    max_connections: u32,
    acquire_timeout: Duration,
    allow_when_unavailable: bool,
}

impl std::fmt::Debug for LedgerBuilder {
    /// The URL is shown without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerBuilder")
            .field("url", &store::redact(&self.url))
            .field("budgets", &self.budgets)
            .field("reserve", &self.reserve)
            .field("queue_capacity", &self.queue_capacity)
            .field("write_delay", &self.write_delay)
            .finish_non_exhaustive()
    }
}

impl LedgerBuilder {
    /// Adds a budget, checked before every call it applies to.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budgets.push(budget);
        self
    }

    /// Reserves each call's maximum cost at its gate, atomically with the
    /// budget check, so that the spend never passes a limit (the default
    /// checks only, and a limit can be passed by the calls in flight).
    /// Costs a transaction per gated call.
    pub fn reserve(mut self, reserve: bool) -> Self {
        self.reserve = reserve;
        self
    }

    /// How long a reservation holds when no record settles it (a call that
    /// failed before reaching the provider); default 15 minutes, longer
    /// than any call should last.
    pub fn reservation_ttl(mut self, ttl: Duration) -> Self {
        self.reservation_ttl = ttl;
        self
    }

    /// The most records waiting to be written (default 100,000, about
    /// 40 MB); past it, records are dropped, logged and counted.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// The most records one write carries (default and maximum 256).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.clamp(1, store::MAX_BATCH);
        self
    }

    /// How long the writer lets records gather before it writes them,
    /// unless a whole batch is there sooner: one transaction for many
    /// records costs far less CPU than one each. Default: 100 ms without
    /// budgets; none with budgets, so that the other processes' gates see
    /// a call's spend as soon as it can be written (the spend in this
    /// process's queue is counted by its own gate either way).
    pub fn write_delay(mut self, delay: Duration) -> Self {
        self.write_delay = Some(delay);
        self
    }

    /// How long [`Ledger::close`] waits for an unreachable database before
    /// it counts the records still queued as dropped (default 30 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The pool's connections (default 4).
    pub fn max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long a write or a gate waits for a connection before it counts
    /// as failed (default 2 s): a gate waits at most this long when the
    /// database is down.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Lets calls go ahead when the database cannot answer the gate
    /// (default: refused, so that an outage never lets spend through).
    pub fn allow_when_unavailable(mut self, allow: bool) -> Self {
        self.allow_when_unavailable = allow;
        self
    }

    /// Connects, runs the migrations and starts the writer. Call it inside
    /// a Tokio runtime.
    pub async fn open(self) -> Result<Ledger, Error> {
        let (url, backend) = store::normalize(&self.url)?;
        let pool =
            store::connect(&url, backend, self.max_connections, self.acquire_timeout).await?;
        let write_delay = self.write_delay.unwrap_or(if self.budgets.is_empty() {
            Duration::from_millis(100)
        } else {
            Duration::ZERO
        });
        let shared = Arc::new(Shared {
            pool,
            write_delay,
            backend,
            budgets: self.budgets,
            reserve: self.reserve,
            reservation_ttl: self.reservation_ttl,
            queue_capacity: self.queue_capacity,
            batch_size: self.batch_size,
            close_timeout: self.close_timeout,
            allow_when_unavailable: self.allow_when_unavailable,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            drained: Notify::new(),
            commit: tokio::sync::RwLock::new(()),
            stats: Counters::default(),
        });
        let writer = tokio::spawn(write_loop(shared.clone()));
        Ok(Ledger {
            handle: Arc::new(Handle {
                shared,
                writer: tokio::sync::Mutex::new(Some(writer)),
            }),
        })
    }
}

/// A usage ledger: give it to a client with
/// [`ClientBuilder::hooks`](llmax::ClientBuilder::hooks); clones share
/// one queue and pool. See the [crate documentation](crate).
#[derive(Clone)]
pub struct Ledger {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = &self.handle.shared;
        f.debug_struct("Ledger")
            .field("backend", &shared.backend)
            .field("budgets", &shared.budgets)
            .field("reserve", &shared.reserve)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The ledger's counters since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LedgerStats {
    /// Records written (new rows).
    pub written: u64,
    /// Records the database already had (a retried write): not counted again.
    pub duplicates: u64,
    /// Records lost: the queue was full, the ledger closed, or the database
    /// still unreachable when the close timeout passed. Each is also logged.
    pub dropped: u64,
    /// Writes that failed and were retried.
    pub write_errors: u64,
    /// Records waiting to be written.
    pub pending: usize,
}

struct Handle {
    shared: Arc<Shared>,
    writer: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    /// The last handle gone: the writer flushes what is queued and stops.
    fn drop(&mut self) {
        self.shared.close();
    }
}

struct Shared {
    pool: AnyPool,
    write_delay: Duration,
    backend: Backend,
    budgets: Vec<Budget>,
    reserve: bool,
    reservation_ttl: Duration,
    queue_capacity: usize,
    batch_size: usize,
    close_timeout: Duration,
    allow_when_unavailable: bool,
    queue: Mutex<Queue>,
    /// Wakes the writer: a record queued, or the ledger closed.
    wake: Notify,
    /// Told after each write and when the writer stops.
    drained: Notify,
    /// Held by the writer (exclusive) from a batch's commit to its removal
    /// from the queue, and by the gate (shared) while it sums the queue and
    /// the database: otherwise a gate could see a record in both, or, reading
    /// in the other order, in neither.
    commit: tokio::sync::RwLock<()>,
    stats: Counters,
}

#[derive(Default)]
struct Queue {
    rows: VecDeque<Row>,
    closed: bool,
    /// Set by [`Ledger::flush`]: write now, without the write delay.
    hurry: bool,
    /// Calls this process reserved for and has no record of yet, with
    /// when their reservation expires (a call that never reached the
    /// provider brings a release instead of a record; one dropped by its
    /// caller brings neither, and its entry goes when it has expired).
    reserved: HashMap<CallId, i64>,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    duplicates: AtomicU64,
    dropped: AtomicU64,
    write_errors: AtomicU64,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close(&self) {
        self.queue().closed = true;
        self.wake.notify_one();
    }

    fn drop_records(&self, count: usize, why: &str) {
        if count == 0 {
            return;
        }
        self.stats
            .dropped
            .fetch_add(count as u64, Ordering::Relaxed);
        tracing::error!(count, why, "llmax-ledger: usage records lost");
    }

    fn push(&self, record: UsageRecord) {
        let mut row = row(&record);
        let mut queue = self.queue();
        if queue.closed {
            drop(queue);
            self.drop_records(1, "the ledger is closed");
            return;
        }
        row.reserved = queue.reserved.remove(&record.call_id).is_some();
        if queue.rows.len() >= self.queue_capacity {
            drop(queue);
            self.drop_records(1, "the queue is full (is the database down?)");
            return;
        }
        queue.rows.push_back(row);
        // The writer waits for the first record, or for a whole batch.
        let wake = queue.rows.len() == 1 || queue.rows.len() >= self.batch_size;
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    /// The spend this process has queued and not written for a window; rows
    /// whose cost is reserved in the database are counted there.
    fn pending(&self, window: &Window<'_>) -> i64 {
        let queue = self.queue();
        queue
            .rows
            .iter()
            .filter(|row| !row.reserved && row.tag(window.kind) == Some(window.tag))
            .filter(|row| {
                window
                    .from
                    .as_deref()
                    .is_none_or(|from| row.day.as_str() >= from)
            })
            .filter(|row| {
                window
                    .until
                    .as_deref()
                    .is_none_or(|until| row.day.as_str() < until)
            })
            .map(|row| row.cost)
            .fold(0i64, i64::saturating_add)
    }

    async fn gate(&self, call: &CallContext<'_>) -> Result<(), Refusal> {
        let today = Day::today();
        let applicable: Vec<(&Budget, &str)> = self
            .budgets
            .iter()
            .filter_map(|budget| Some((budget, budget.applies(call.scope)?)))
            .collect();
        if applicable.is_empty() {
            return Ok(());
        }
        let reserve = if self.reserve { call.max_cost } else { None };
        match self.check(call, &applicable, today, reserve).await {
            Ok(outcome) => outcome,
            Err(error) if self.allow_when_unavailable => {
                tracing::warn!(%error, "llmax-ledger: budget not checked, the call goes ahead");
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "llmax-ledger: budget not checked, the call is refused");
                let (budget, _) = applicable[0];
                Err(Refusal::new(
                    format!("ledger unavailable ({error})"),
                    Usd::ZERO,
                    budget.limit(),
                ))
            }
        }
    }

    async fn check(
        &self,
        call: &CallContext<'_>,
        applicable: &[(&Budget, &str)],
        today: Day,
        reserve: Option<Usd>,
    ) -> Result<Result<(), Refusal>, Error> {
        let now = now_ms();
        let windows: Vec<Window<'_>> = applicable
            .iter()
            .map(|(budget, tag)| {
                let (from, until) = budget.period().range(today);
                Window {
                    kind: budget.kind(),
                    tag,
                    from: from.map(|day| day.to_string()),
                    until: until.map(|day| day.to_string()),
                }
            })
            .collect();
        // Before the connection: a gate waiting for the writer must not
        // hold one the writer needs.
        let _commit = self.commit.read().await;
        let mut conn = self.pool.acquire().await.map_err(Error::Database)?;
        let amount = reserve.map(|cost| saturating_i64(cost.picos()));
        let Some(amount) = amount else {
            for ((budget, tag), window) in applicable.iter().zip(&windows) {
                let queued = self.pending(window);
                let spent = store::spent(&mut conn, window, now)
                    .await?
                    .saturating_add(queued);
                if spent >= saturating_i64(budget.limit().picos()) {
                    return Ok(Err(refusal(budget, tag, today, spent)));
                }
            }
            return Ok(Ok(()));
        };
        let mut tx = store::begin(&mut conn, self.backend).await?;
        if self.backend == Backend::Postgres {
            let mut keys: Vec<String> = windows
                .iter()
                .map(|window| format!("llmax-ledger:{:?}:{}", window.kind, window.tag))
                .collect();
            keys.sort();
            keys.dedup();
            store::lock(&mut tx, &keys).await?;
        }
        for ((budget, tag), window) in applicable.iter().zip(&windows) {
            let queued = self.pending(window);
            let spent = store::spent(&mut tx, window, now)
                .await?
                .saturating_add(queued);
            if spent.saturating_add(amount) > saturating_i64(budget.limit().picos()) {
                // Dropping the transaction rolls it back.
                return Ok(Err(refusal(budget, tag, today, spent)));
            }
        }
        let expires_ms = now.saturating_add(millis(self.reservation_ttl));
        store::reserve(
            &mut tx,
            &store::Reservation {
                call_id: call.call_id.to_string(),
                day: today.to_string(),
                user: call.scope.user_tag(),
                tenant: call.scope.tenant_tag(),
                project: call.scope.project_tag(),
                amount,
                expires_ms,
            },
        )
        .await?;
        tx.commit().await.map_err(Error::Database)?;
        let mut queue = self.queue();
        if queue.reserved.len() >= 10_000 {
            queue.reserved.retain(|_, expires| *expires > now);
        }
        queue.reserved.insert(call.call_id, expires_ms);
        Ok(Ok(()))
    }
}

fn refusal(budget: &Budget, tag: &str, today: Day, spent: i64) -> Refusal {
    Refusal::new(
        budget.describe(tag, today),
        Usd::from_picos(u64::try_from(spent).unwrap_or(0)),
        budget.limit(),
    )
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn row(record: &UsageRecord) -> Row {
    let at_ms = now_ms();
    let count = |n: u64| saturating_i64(n);
    Row {
        call_id: record.call_id.to_string(),
        at_ms,
        day: Day::of_ms(at_ms).to_string(),
        model: record.model,
        provider: record.provider,
        operation: record.operation.clone(),
        user: record.scope.user_tag().map(str::to_owned),
        tenant: record.scope.tenant_tag().map(str::to_owned),
        project: record.scope.project_tag().map(str::to_owned),
        cost: count(record.cost.picos()),
        input_tokens: count(record.input_tokens),
        output_tokens: count(record.output_tokens),
        cached_input_tokens: count(record.cached_input_tokens),
        cache_write_tokens: count(record.cache_write_tokens),
        reasoning_tokens: count(record.reasoning_tokens),
        audio_ms: millis(record.audio_duration),
        images: count(record.images),
        characters: count(record.characters),
        duration_ms: millis(record.duration),
        attempts: i64::from(record.attempts),
        succeeded: record.succeeded,
        reserved: false,
    }
}

/// The writer: drains the queue in batches until the ledger is closed and
/// the queue empty, retrying a failed batch with backoff.
async fn write_loop(shared: Arc<Shared>) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(50);
    const MAX_BACKOFF: Duration = Duration::from_secs(2);
    let mut backoff = FIRST_BACKOFF;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let linger = {
            let queue = shared.queue();
            !queue.rows.is_empty()
                && queue.rows.len() < shared.batch_size
                && !queue.closed
                && !queue.hurry
                && !shared.write_delay.is_zero()
        };
        if linger {
            // Woken early by a full batch, a flush or the close.
            tokio::select! {
                () = tokio::time::sleep(shared.write_delay) => {}
                () = shared.wake.notified() => {}
            }
        }
        let batch: Vec<Row> = {
            let mut queue = shared.queue();
            if queue.rows.is_empty() {
                queue.hurry = false;
            }
            if queue.closed && deadline.is_none() {
                deadline = Some(tokio::time::Instant::now() + shared.close_timeout);
            }
            if queue.rows.is_empty() && queue.closed {
                break;
            }
            queue.rows.iter().take(shared.batch_size).cloned().collect()
        };
        if batch.is_empty() {
            shared.drained.notify_waiters();
            shared.wake.notified().await;
            continue;
        }
        // Only gates wait for it, and only when there are budgets.
        let commit = if shared.budgets.is_empty() {
            None
        } else {
            Some(shared.commit.write().await)
        };
        let written = store::write(&shared.pool, shared.backend, &batch, now_ms()).await;
        if written.is_ok() {
            shared.queue().rows.drain(..batch.len());
        }
        drop(commit);
        match written {
            Ok(inserted) => {
                let stats = &shared.stats;
                stats.written.fetch_add(inserted, Ordering::Relaxed);
                stats
                    .duplicates
                    .fetch_add(batch.len() as u64 - inserted, Ordering::Relaxed);
                backoff = FIRST_BACKOFF;
                shared.drained.notify_waiters();
            }
            Err(error) => {
                shared.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                let pending = shared.queue().rows.len();
                if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                    let lost = {
                        let mut queue = shared.queue();
                        let lost = queue.rows.len();
                        queue.rows.clear();
                        lost
                    };
                    tracing::error!(%error, "llmax-ledger: database unreachable at close");
                    shared
                        .drop_records(lost, "the database was unreachable until the close timeout");
                    break;
                }
                tracing::warn!(%error, pending, ?backoff, "llmax-ledger: write failed, retrying");
                // Woken early by close, so that its deadline starts now.
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shared.wake.notified() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    shared.drained.notify_waiters();
}

impl Ledger {
    /// Opens the ledger at `url` with default settings and no budget: a
    /// SQLite file path (`usage.db`, created if missing), a `sqlite:` URL,
    /// or a `postgres://` URL. See [`builder`](Self::builder).
    pub async fn open(url: &str) -> Result<Ledger, Error> {
        Ledger::builder(url).open().await
    }

    /// Settings for a ledger at `url`, then [`open`](LedgerBuilder::open).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use llmax::Usd;
    /// use llmax_ledger::{Budget, Ledger, Period, ScopeKind};
    ///
    /// # async fn run() -> Result<(), llmax_ledger::Error> {
    /// let ledger = Ledger::builder("postgres://llmax@127.0.0.1/usage")
    ///     .budget(Budget::new(ScopeKind::User, Period::Day, Usd::dollars(2)))
    ///     .budget(Budget::new(ScopeKind::Tenant, Period::Month, Usd::dollars(1_000)))
    ///     .reserve(true)
    ///     .queue_capacity(50_000)
    ///     .close_timeout(Duration::from_secs(10))
    ///     .open()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: impl Into<String>) -> LedgerBuilder {
        LedgerBuilder {
            url: url.into(),
            budgets: Vec::new(),
            reserve: false,
            reservation_ttl: Duration::from_secs(15 * 60),
            queue_capacity: 100_000,
            batch_size: store::MAX_BATCH,
            write_delay: None,
            close_timeout: Duration::from_secs(30),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(2),
            allow_when_unavailable: false,
        }
    }

    /// The counters: written, duplicates, dropped, write errors, pending.
    pub fn stats(&self) -> LedgerStats {
        let shared = &self.handle.shared;
        let stats = &shared.stats;
        LedgerStats {
            written: stats.written.load(Ordering::Relaxed),
            duplicates: stats.duplicates.load(Ordering::Relaxed),
            dropped: stats.dropped.load(Ordering::Relaxed),
            write_errors: stats.write_errors.load(Ordering::Relaxed),
            pending: shared.queue().rows.len(),
        }
    }

    /// Waits until every record queued so far is written (however long
    /// the database takes to come back).
    pub async fn flush(&self) {
        let shared = &self.handle.shared;
        loop {
            let drained = shared.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let mut queue = shared.queue();
                if queue.rows.is_empty() {
                    return;
                }
                queue.hurry = true;
            }
            shared.wake.notify_one();
            if self.handle.writer.lock().await.is_none() {
                return;
            }
            drained.await;
        }
    }

    /// Stops taking records, writes those queued (waiting at most the
    /// close timeout for the database), and returns the final counters.
    /// Records handed over after it are dropped, logged and counted.
    pub async fn close(&self) -> LedgerStats {
        let shared = &self.handle.shared;
        shared.close();
        let writer = self.handle.writer.lock().await.take();
        if let Some(writer) = writer
            && let Err(error) = writer.await
        {
            tracing::error!(%error, "llmax-ledger: the writer stopped abnormally");
        }
        self.stats()
    }

    /// Spend and tokens grouped by the report's dimensions.
    ///
    /// ```no_run
    /// use llmax_ledger::{Dimension, Ledger, Report};
    ///
    /// # async fn run(ledger: Ledger) -> Result<(), llmax_ledger::Error> {
    /// let rows = ledger
    ///     .report(&Report::by([Dimension::Day, Dimension::User]).since("2026-12-01"))
    ///     .await?;
    /// println!("{}", ReportRow::table(&[Dimension::Day, Dimension::User], &rows));
    /// # Ok(()) }
    /// # use llmax_ledger::ReportRow;
    /// ```
    pub async fn report(&self, report: &Report) -> Result<Vec<ReportRow>, Error> {
        report::run(&self.handle.shared.pool, report).await
    }
}

impl UsageHooks for Ledger {
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        self.handle.shared.push(record);
        Box::pin(std::future::ready(()))
    }

    fn gate_call<'a>(&'a self, call: &'a CallContext<'a>) -> BoxFuture<'a, Result<(), Refusal>> {
        if self.handle.shared.budgets.is_empty() {
            return Box::pin(std::future::ready(Ok(())));
        }
        Box::pin(self.handle.shared.gate(call))
    }

    fn release_call(&self, call_id: CallId) -> BoxFuture<'_, ()> {
        let shared = &self.handle.shared;
        if shared.queue().reserved.remove(&call_id).is_none() {
            return Box::pin(std::future::ready(()));
        }
        Box::pin(async move {
            if let Err(error) = store::release(&shared.pool, &call_id.to_string()).await {
                // Not lost: the reservation expires after its TTL.
                tracing::warn!(%error, "llmax-ledger: a reservation not released");
            }
        })
    }
}
