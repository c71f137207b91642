//! Usage accounting: the records handed to your `increment_usage` hook, and
//! the hooks themselves.
//!
//! Every call that reached a provider produces exactly one [`UsageRecord`],
//! whatever happened: success, provider error, retries, a stream read to the
//! end, cut, or dropped half-way. A call refused before any network traffic
//! (bad configuration, budget spent) produces none.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::catalog::Usd;
use crate::response::Usage;

/// What one call used and cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UsageRecord {
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
