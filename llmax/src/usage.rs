//! Usage accounting: the records handed to your `increment_usage` hook, and
//! the hooks themselves.
//!
//! Every call that reached a provider produces exactly one [`UsageRecord`],
//! whatever happened: success, provider error, retries, a stream read to the
//! end, cut, or dropped half-way. A call refused before any network traffic
//! (bad configuration, budget spent) produces none.
//!
//! Each call has a [`CallId`], made once before it is gated, so that a
//! store can write its record idempotently and tie a reservation made by
//! [`UsageHooks::gate_call`] to the record that settles it. Calls carry a
//! [`Scope`] (user, tenant, project) set per client and per call.

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::catalog::Usd;
use crate::response::Usage;

/// What one call used and cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UsageRecord {
    /// The call's unique id, the same one its gate saw: a store writes the
    /// record once per id, whatever the retries of the write.
    pub call_id: CallId,
    /// Who the call was for: the per-call tags over the client's.
    pub scope: Scope,
    /// What it cost, from the catalog's prices: the answer, and what failed
    /// attempts consumed (see [`Attempt::cost`]).
    pub cost: Usd,
    /// The catalog model that answered (a fallback model's, if the call
    /// fell back; the model asked for if none answered).
    pub model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
    /// The [label](crate::Deployment::label) of the deployment that
    /// answered (the first one tried if none did).
    pub deployment: Arc<str>,
    /// The operation (`"ainvoke"`, `"astream"`... or the name set with
    /// [`CallOptions::operation`](crate::CallOptions::operation)).
    pub operation: String,
    /// Input tokens, cached ones included (of every attempt that used
    /// some, as `cost`).
    pub input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to cache.
    pub cache_write_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Audio billed by duration (speech to text priced per minute).
    pub audio_duration: Duration,
    /// Images billed per image (image generation).
    pub images: u64,
    /// The price of each of those images.
    pub image_price: Usd,
    /// Input characters billed by the character (text to speech).
    pub characters: u64,
    /// From the first attempt to the end of the call.
    pub duration: Duration,
    /// From the first attempt to the first streamed token (streams only).
    pub time_to_first_token: Option<Duration>,
    /// How many HTTP attempts were made.
    pub attempts: u32,
    /// Every attempt, in order: where it went, how it ended, how long it
    /// took. The last one answered if the call succeeded.
    pub attempt_log: Vec<Attempt>,
    /// Whether the call ended well.
    pub succeeded: bool,
}

/// One HTTP attempt of a call, in [`UsageRecord::attempt_log`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
///
/// let client = MultiAIClient::builder()
///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock).label("primary"))
///     .increment_usage(|record| async move {
///         for attempt in &record.attempt_log {
///             println!(
///                 "{} on {}: {:?} {:?} in {:?}",
///                 attempt.model, attempt.deployment, attempt.status, attempt.error, attempt.duration
///             );
///         }
///         assert_eq!(&*record.deployment, "primary");
///     })
///     .build()?;
/// client.ainvoke(&[Message::user("Hi")], Model::Gpt4o).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// The catalog model it asked.
    pub model: &'static str,
    /// The provider.
    pub provider: &'static str,
    /// The [label](crate::Deployment::label) of the deployment.
    pub deployment: Arc<str>,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it failed, as an OpenTelemetry `error.type` (`rate_limit`,
    /// `server_error`, `auth`, `connection`, `timeout`...); `None` if it
    /// was accepted.
    pub error: Option<&'static str>,
    /// From sending it to its answer (its whole body, unless streamed).
    pub duration: Duration,
    /// What it used, priced: the answer's cost for the attempt that
    /// answered, and for a failed one what it consumed (a stream cut
    /// before its first chunk may have used input tokens); included in
    /// the record's `cost`.
    pub cost: Usd,
}

impl Attempt {
    pub(crate) fn new(
        target: &crate::engine::Target,
        status: Option<u16>,
        error: Option<&'static str>,
        duration: Duration,
    ) -> Attempt {
        Attempt {
            model: target.resolved.model.name,
            provider: target.resolved.provider.name,
            deployment: target.label.clone(),
            status,
            error,
            duration,
            cost: Usd::ZERO,
        }
    }
}

impl UsageRecord {
    /// The token counts of the record.
    pub fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_input_tokens: self.cached_input_tokens,
            cache_write_tokens: self.cache_write_tokens,
            reasoning_tokens: self.reasoning_tokens,
            audio_duration: self.audio_duration,
            images: self.images,
            image_price: self.image_price,
            characters: self.characters,
        }
    }
}

/// The unique id of one call.
///
/// 128 bits: the high half is drawn once per process from the operating
/// system's randomness (through the standard library's hasher keys), the low
/// half counts the process's calls, so ids never repeat within a process and
/// two processes collide with a probability of about 2^-64. Shown as 32
/// lowercase hex digits.
///
/// ```
/// use llmax::usage::CallId;
///
/// let (a, b) = (CallId::new(), CallId::new());
/// assert_ne!(a, b);
/// assert_eq!(a.to_string().len(), 32);
/// assert_eq!(a.to_string().parse::<CallId>(), Ok(a));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CallId(u128);

impl CallId {
    /// A fresh id, never handed out before in this process.
    pub fn new() -> CallId {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            // RandomState's keys come from the OS's randomness; mixing in
            // the pid and the time guards against a platform that has none.
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            hasher.write_u128(now.as_nanos());
            hasher.finish()
        });
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        CallId((u128::from(prefix) << 64) | u128::from(count))
    }

    /// The id as a number.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// An id from its number (to read one back from a store).
    pub const fn from_u128(id: u128) -> CallId {
        CallId(id)
    }
}

impl Default for CallId {
    fn default() -> CallId {
        CallId::new()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallId({self})")
    }
}

impl std::str::FromStr for CallId {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> std::result::Result<CallId, Self::Err> {
        u128::from_str_radix(text, 16).map(CallId)
    }
}

/// Who a call is for: user, tenant and project tags, each optional.
///
/// Set one on the client ([`ClientBuilder::scope`](crate::ClientBuilder::scope))
/// and per call ([`CallOptions::user`](crate::CallOptions::user) and
/// friends); a tag set on the call wins over the client's. Usage records
/// carry it, and [`UsageHooks::gate_call`] sees it, so budgets can hold per
/// user, tenant or project.
///
/// ```
/// use llmax::usage::Scope;
///
/// let client_wide = Scope::new().tenant("acme").project("support-bot");
/// let this_call = Scope::new().user("alice");
/// let scope = this_call.or(&client_wide);
/// assert_eq!(scope.user_tag(), Some("alice"));
/// assert_eq!(scope.tenant_tag(), Some("acme"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    #[serde(serialize_with = "tag")]
    user: Option<Arc<str>>,
    #[serde(serialize_with = "tag")]
    tenant: Option<Arc<str>>,
    #[serde(serialize_with = "tag")]
    project: Option<Arc<str>>,
}

/// Serializes a tag as a string (serde's `rc` feature is not needed for it).
fn tag<S: serde::Serializer>(
    tag: &Option<Arc<str>>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&tag.as_deref(), serializer)
}

impl Scope {
    /// No tag.
    pub fn new() -> Scope {
        Scope::default()
    }

    /// Sets the user tag.
    #[must_use]
    pub fn user(mut self, user: impl Into<Arc<str>>) -> Scope {
        self.user = Some(user.into());
        self
    }

    /// Sets the tenant tag.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<Arc<str>>) -> Scope {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sets the project tag.
    #[must_use]
    pub fn project(mut self, project: impl Into<Arc<str>>) -> Scope {
        self.project = Some(project.into());
        self
    }

    /// Each tag of `self`, or `fallback`'s where `self` has none.
    #[must_use]
    pub fn or(&self, fallback: &Scope) -> Scope {
        Scope {
            user: self.user.clone().or_else(|| fallback.user.clone()),
            tenant: self.tenant.clone().or_else(|| fallback.tenant.clone()),
            project: self.project.clone().or_else(|| fallback.project.clone()),
        }
    }

    /// Whether no tag is set.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.tenant.is_none() && self.project.is_none()
    }

    /// The user tag.
    pub fn user_tag(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The tenant tag.
    pub fn tenant_tag(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The project tag.
    pub fn project_tag(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

/// What [`UsageHooks::gate_call`] sees of a call before it is sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallContext<'a> {
    /// The id its usage record will carry.
    pub call_id: CallId,
    /// Who it is for.
    pub scope: &'a Scope,
    /// The catalog model.
    pub model: &'static str,
    /// The provider.
    pub provider: &'static str,
    /// The operation name, as in the usage record.
    pub operation: &'a str,
    /// The most the call can cost, from the catalog's prices: every byte of
    /// the request body counted as an input token (a token is at least a
    /// byte in every tokenizer llmax prices), and the call's `max_tokens`
    /// (else the model's maximum output) as output tokens. `None` when no
    /// bound is known (no maximum output for a chat model; audio and
    /// images).
    pub max_cost: Option<Usd>,
}

/// Why [`UsageHooks::gate_call`] refused a call; the call fails with
/// [`Error::Refused`](crate::Error::Refused), nothing sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// Which limit: `"user alice, day 2026-12-01"`, say.
    pub limit: String,
    /// What that limit has counted so far (records and reservations).
    pub spent: Usd,
    /// The limit.
    pub budget: Usd,
}

impl Refusal {
    /// A refusal of the call by the limit `limit`.
    pub fn new(limit: impl Into<String>, spent: Usd, budget: Usd) -> Refusal {
        Refusal {
            limit: limit.into(),
            spent,
            budget,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget of {} reached: {} counted of {}",
            self.limit, self.spent, self.budget
        )
    }
}

/// The hooks a client calls around each call: the Python llmax's
/// `increment_usage` and `get_usage`.
///
/// Implement it on your own type, or give closures to
/// [`ClientBuilder::increment_usage`](crate::ClientBuilder::increment_usage)
/// and [`ClientBuilder::get_usage`](crate::ClientBuilder::get_usage).
/// Both default to doing nothing.
pub trait UsageHooks: Send + Sync + 'static {
    /// Called exactly once after each call that reached a provider.
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        let _ = record;
        Box::pin(async {})
    }

    /// Called before each call: what has been spent so far, compared with
    /// the client's budget. `None`: no figure, the call goes ahead.
    fn get_usage(&self) -> BoxFuture<'_, Option<Usd>> {
        Box::pin(async { None })
    }

    /// Called before each call, before any traffic, with its scope, model
    /// and maximum cost: `Err` refuses it. A store may reserve
    /// [`max_cost`](CallContext::max_cost) under
    /// [`call_id`](CallContext::call_id) here and settle it when
    /// [`increment_usage`](Self::increment_usage) brings that id's record.
    /// A refused call is never accounted; a call allowed here may still fail
    /// before reaching the provider, and then brings no record: its id
    /// comes to [`release_call`](Self::release_call) instead.
    /// Default: every call goes ahead.
    fn gate_call<'a>(&'a self, call: &'a CallContext<'a>) -> BoxFuture<'a, Result<(), Refusal>> {
        let _ = call;
        Box::pin(async { Ok(()) })
    }

    /// Called once for a call that [`gate_call`](Self::gate_call) let
    /// through and that ended without reaching any provider (no connection,
    /// every deployment resting or refused): no record will come for
    /// `call_id`, and nothing was used. A store releases what its gate
    /// reserved for it here. A call its gate let through brings at most one
    /// of a record or a release (a call its caller drops mid-flight may
    /// bring neither, so what a store holds should still expire). Default:
    /// nothing.
    fn release_call(&self, call_id: CallId) -> BoxFuture<'_, ()> {
        let _ = call_id;
        Box::pin(async {})
    }
}

impl<T: UsageHooks + ?Sized> UsageHooks for Arc<T> {
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        (**self).increment_usage(record)
    }

    fn get_usage(&self) -> BoxFuture<'_, Option<Usd>> {
        (**self).get_usage()
    }

    fn gate_call<'a>(&'a self, call: &'a CallContext<'a>) -> BoxFuture<'a, Result<(), Refusal>> {
        (**self).gate_call(call)
    }

    fn release_call(&self, call_id: CallId) -> BoxFuture<'_, ()> {
        (**self).release_call(call_id)
    }
}

/// Hooks that do nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl UsageHooks for NoHooks {}

type IncrementFn = dyn Fn(UsageRecord) -> BoxFuture<'static, ()> + Send + Sync;
type GetFn = dyn Fn() -> BoxFuture<'static, Option<Usd>> + Send + Sync;

/// Hooks made of closures, as the builder collects them.
#[derive(Clone, Default)]
pub(crate) struct ClosureHooks {
    pub increment: Option<Arc<IncrementFn>>,
    pub get: Option<Arc<GetFn>>,
}

impl ClosureHooks {
    pub fn set_increment<F, Fut>(&mut self, hook: F)
    where
        F: Fn(UsageRecord) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.increment = Some(Arc::new(move |record| Box::pin(hook(record))));
    }

    pub fn set_get<F, Fut>(&mut self, hook: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Usd>> + Send + 'static,
    {
        self.get = Some(Arc::new(move || Box::pin(hook())));
    }
}

impl UsageHooks for ClosureHooks {
    fn increment_usage(&self, record: UsageRecord) -> BoxFuture<'_, ()> {
        match &self.increment {
            Some(hook) => hook(record),
            None => Box::pin(async {}),
        }
    }

    fn get_usage(&self) -> BoxFuture<'_, Option<Usd>> {
        match &self.get {
            Some(hook) => hook(),
            None => Box::pin(async { None }),
        }
    }
}
