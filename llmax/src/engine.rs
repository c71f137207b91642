//! The engine: the one path of every request.
//!
//! Every call, whatever its endpoint, goes the same way:
//!
//! 1. resolve the deployment of the model, and check that the model and
//!    its protocol serve the operation ([`Engine::target`]);
//! 2. the caller has the protocol build the request body;
//! 3. gate: refuse the call before any traffic once the budget is spent,
//!    or when the hooks' `gate_call` says so (a ledger's scoped budgets);
//! 4. send with retries: one loop, one backoff policy, the provider's
//!    `Retry-After` honoured, one timer per attempt;
//! 5. read the whole body, or hand the stream on;
//! 6. decode with the protocol's codec;
//! 7. account exactly once (here for whole replies; at the end of the
//!    stream, or when it is dropped, for streams);
//! 8. trace: a `tracing` span per call, a warning per retry.
//!
//! An endpoint adds a body builder and a decoder; it never copies this loop.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use tracing::Instrument;

use crate::catalog::{Price, Usd};
use crate::deployment::Resolved;
use crate::error::{Error, Result, TimeoutPhase};
use crate::options::CallOptions;
use crate::protocol::{Adapter, Operation, StreamDecoder};
use crate::response::Usage;
use crate::stream::{AudioBytes, ChatStream, Live};
use crate::transport::http::Http;
use crate::transport::{Reply, Request, RequestBody, Transport};
use crate::usage::{CallContext, CallId, Scope, UsageHooks, UsageRecord};

/// The largest non-streamed response body llmax reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The largest error body llmax reads (the rest is dropped).
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// Upper bound of the exponential backoff between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A deployment with everything a request needs, computed once when the
/// client is built.
pub(crate) struct Target {
    pub resolved: Resolved,
    pub adapter: Adapter,
    /// Whether requests go to the in-process mock instead of over HTTP.
    pub mock: bool,
    /// The URL of each operation the protocol serves, by
    /// [`Operation::index`].
    pub urls: [Option<reqwest::Url>; Operation::ALL.len()],
    /// The URL of a streamed chat: the chat URL, except where the protocol
    /// streams from an endpoint of its own (Gemini's `streamGenerateContent`).
    pub chat_stream_url: Option<reqwest::Url>,
    pub headers: HeaderMap,
}

impl Target {
    fn transport<'a>(&self, http: &'a Http) -> Transport<'a> {
        if self.mock {
            Transport::Mock
        } else {
            Transport::Http(http)
        }
    }

    /// The URL of an operation, streamed or not.
    pub fn url(&self, operation: Operation, stream: bool) -> Option<&reqwest::Url> {
        if stream && operation == Operation::Chat {
            self.chat_stream_url.as_ref()
        } else {
            self.urls[operation.index()].as_ref()
        }
    }

    /// Refuses an operation the model or its protocol cannot serve, before
    /// anything is built or sent.
    pub fn check(&self, operation: Operation) -> Result<()> {
        let model = self.resolved.model;
        if model.kind != operation.kind() {
            return Err(Error::InvalidRequest {
                model: model.name,
                message: format!(
                    "`{}` is {} model; {} call needs {} model",
                    model.name,
                    with_article(model.kind.as_str()),
                    with_article(operation.name()),
                    with_article(operation.kind().as_str())
                ),
            });
        }
        if self.urls[operation.index()].is_none() {
            return Err(Error::InvalidRequest {
                model: model.name,
                message: format!(
                    "provider `{}` ({} protocol) has no {} endpoint",
                    self.resolved.provider.name,
                    self.resolved.provider.protocol.as_str(),
                    operation.name()
                ),
            });
        }
        Ok(())
    }
}

/// "a chat", "an embedding": the kind names all start with a letter that
/// sounds as written.
fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

/// What the engine needs beside the deployments: hooks, budget, timeouts
/// and transports.
pub(crate) struct Engine {
    pub hooks: Arc<dyn UsageHooks>,
    pub budget: Option<Usd>,
    /// The client's scope tags, under each call's own.
    pub scope: Scope,
    pub timeout: Duration,
    pub stream_idle_timeout: Duration,
    pub http: Http,
    /// Created on the first blocking call: a one-worker runtime and its own
    /// HTTP client, so that no runtime or thread is started per call, and
    /// the async client's connections never depend on it.
    pub blocking: OnceLock<std::result::Result<Blocking, String>>,
}

/// The runtime and HTTP client of blocking calls.
pub(crate) struct Blocking {
    pub runtime: tokio::runtime::Runtime,
    pub http: Http,
}

/// One call through the engine: a built request for a target.
pub(crate) struct Exchange<'a> {
    pub target: &'a Target,
    pub operation: Operation,
    pub body: RequestBody,
    pub options: &'a CallOptions,
    /// The name of the call in usage records, unless the options set one.
    pub name: &'static str,
}

/// A decoded reply, with what it used and cost.
pub(crate) struct Decoded<T> {
    pub value: T,
    pub usage: Usage,
    pub cost: Usd,
    /// From sending the last attempt to reading the whole body.
    pub latency: Duration,
}

/// A streamed reply accepted by a provider, not read yet.
struct Opened {
    body: crate::transport::ByteStream,
    provider: &'static str,
    idle: Duration,
    accounting: Accounting,
}

/// How an accepted reply is taken: read in full (`Vec<u8>`) or handed on
/// as a stream (`Reply`).
trait Take: Sized {
    /// Whether the request asked for a stream.
    const STREAM: bool;

    fn take(
        reply: Reply,
        provider: &'static str,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self>> + Send;
}

impl Take for Vec<u8> {
    const STREAM: bool = false;

    async fn take(
        reply: Reply,
        provider: &'static str,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        tokio::time::timeout_at(deadline, reply.read(provider, MAX_BODY_BYTES))
            .await
            .map_err(|_| body_timeout(timeout))?
    }
}

impl Take for Reply {
    const STREAM: bool = true;

    async fn take(
        reply: Reply,
        _: &'static str,
        _: tokio::time::Instant,
        _: Duration,
    ) -> Result<Reply> {
        Ok(reply)
    }
}

fn body_timeout(after: Duration) -> Error {
    Error::Timeout {
        phase: TimeoutPhase::Body,
        after,
    }
}

impl Engine {
    /// Refuses the call if the budget is spent. Runs before any traffic.
    async fn gate(&self, exchange: &Exchange<'_>, accounting: &Accounting) -> Result<()> {
        if let Some(budget) = self.budget
            && let Some(spent) = self.hooks.get_usage().await
            && spent >= budget
        {
            return Err(Error::Budget { spent, budget });
        }
        // Last: a hook may reserve the call's cost here, which a refusal
        // after it would leave held until it expires.
        let call = accounting.context(max_cost(exchange));
        self.hooks.gate_call(&call).await.map_err(Error::Refused)
    }

    fn accounting(&self, exchange: &Exchange<'_>) -> Accounting {
        let resolved = &exchange.target.resolved;
        Accounting {
            call_id: CallId::new(),
            scope: exchange.options.scope.or(&self.scope),
            hooks: self.hooks.clone(),
            model: resolved.model.name,
            provider: resolved.provider.name,
            operation: exchange
                .options
                .operation
                .clone()
                .unwrap_or_else(|| exchange.name.to_owned()),
            price: resolved.price,
            started: Instant::now(),
            attempts: 0,
            time_to_first_token: None,
        }
    }

    /// Gates, sends with retries, reads the whole body, decodes it with
    /// `decode` (which gives the value and its usage), and accounts the call
    /// once.
    pub async fn whole<T>(
        &self,
        http: &Http,
        exchange: Exchange<'_>,
        decode: impl FnOnce(&[u8]) -> Result<(T, Usage)>,
    ) -> Result<Decoded<T>> {
        let span = span(&exchange);
        async move {
            let accounting = self.accounting(&exchange);
            self.gate(&exchange, &accounting).await?;
            let (body, latency, accounting) = self
                .attempts::<Vec<u8>>(http, &exchange, accounting)
                .await?;
            match decode(&body) {
                Ok((value, usage)) => {
                    let cost = usage.cost(&accounting.price);
                    accounting.report(usage, true).await;
                    Ok(Decoded {
                        value,
                        usage,
                        cost,
                        latency,
                    })
                }
                Err(error) => {
                    accounting.report(Usage::default(), false).await;
                    Err(error)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Gates, sends with retries until a provider accepts the request, and
    /// returns its stream, decoded by `decoder` and accounted once when it
    /// ends or is dropped.
    pub async fn stream(
        &self,
        http: &Http,
        exchange: Exchange<'_>,
        decoder: Box<dyn StreamDecoder>,
    ) -> Result<ChatStream> {
        let opened = self.open(http, exchange).await?;
        Ok(ChatStream::new(Live::new(
            opened.body,
            decoder,
            opened.provider,
            opened.idle,
            opened.accounting,
        )))
    }

    /// Like [`stream`](Self::stream), for a body of raw bytes (audio)
    /// whose `usage` is known before it is sent: the body is handed on as
    /// it comes, accounted once when it ends or is dropped.
    pub async fn bytes(
        &self,
        http: &Http,
        exchange: Exchange<'_>,
        usage: Usage,
    ) -> Result<AudioBytes> {
        let opened = self.open(http, exchange).await?;
        Ok(AudioBytes::new(
            opened.body,
            opened.provider,
            usage,
            opened.idle,
            opened.accounting,
        ))
    }

    /// Gates and sends with retries until a provider accepts the request;
    /// the body is not read: the caller's stream owns it, and the
    /// accounting with it.
    async fn open(&self, http: &Http, exchange: Exchange<'_>) -> Result<Opened> {
        let span = span(&exchange);
        async move {
            let accounting = self.accounting(&exchange);
            self.gate(&exchange, &accounting).await?;
            let (reply, _, accounting) =
                self.attempts::<Reply>(http, &exchange, accounting).await?;
            Ok(Opened {
                body: reply.into_stream(),
                provider: exchange.target.resolved.provider.name,
                idle: exchange
                    .options
                    .stream_idle_timeout
                    .unwrap_or(self.stream_idle_timeout),
                accounting,
            })
        }
        .instrument(span)
        .await
    }

    /// The retry loop, the only one. Returns the accepted reply (read in
    /// full unless `stream`), the latency of the attempt that gave it, and
    /// the accounting to finish; a failed call that reached the provider is
    /// accounted here.
    async fn attempts<T: Take>(
        &self,
        http: &Http,
        exchange: &Exchange<'_>,
        mut accounting: Accounting,
    ) -> Result<(T, Duration, Accounting)> {
        let target = exchange.target;
        let options = exchange.options;
        let provider = target.resolved.provider.name;
        let url =
            target
                .url(exchange.operation, T::STREAM)
                .ok_or_else(|| Error::InvalidRequest {
                    model: target.resolved.model.name,
                    message: format!("no {} endpoint", exchange.operation.name()),
                })?;
        let request = Request {
            url,
            headers: &target.headers,
            body: exchange.body.clone(),
        };
        let transport = target.transport(http);
        let timeout = options.timeout.unwrap_or(self.timeout);
        let mut backoff: Option<backon::ExponentialBackoff> = None;
        let mut reached = false;
        loop {
            accounting.attempts += 1;
            let started = Instant::now();
            let outcome = attempt::<T>(transport, target, &request, timeout, &mut reached).await;
            let error = match outcome {
                Ok(accepted) => return Ok((accepted, started.elapsed(), accounting)),
                Err(error) => error,
            };
            let delay = if error.is_retryable() {
                backoff.get_or_insert_with(|| policy(options)).next()
            } else {
                None
            };
            if let Some(delay) = delay {
                let delay = error.retry_after().unwrap_or(delay);
                tracing::warn!(
                    model = target.resolved.model.name,
                    provider,
                    attempt = accounting.attempts,
                    ?delay,
                    %error,
                    "llmax: retrying"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            if reached {
                accounting.report(Usage::default(), false).await;
            }
            return Err(error);
        }
    }
}

/// One attempt: send, check the status, read the body (or check that a
/// stream is a stream), all within `timeout` but the stream itself.
async fn attempt<T: Take>(
    transport: Transport<'_>,
    target: &Target,
    request: &Request<'_>,
    timeout: Duration,
    reached: &mut bool,
) -> Result<T> {
    let provider = target.resolved.provider.name;
    let deadline = tokio::time::Instant::now() + timeout;
    let sent = tokio::time::timeout_at(deadline, transport.send(provider, request, reached)).await;
    let reply = match sent {
        Ok(reply) => reply?,
        Err(_) => {
            // The request may have been sent: account it.
            *reached = true;
            return Err(Error::Timeout {
                phase: TimeoutPhase::Request,
                after: timeout,
            });
        }
    };
    let status = reply.status();
    // A stream request answered with a JSON body is an error, whatever
    // the status: the provider's message must reach the caller.
    if !(200..300).contains(&status) || (T::STREAM && reply.is_json()) {
        let headers = reply.headers().clone();
        let body =
            tokio::time::timeout_at(deadline, reply.read_start(provider, MAX_ERROR_BODY_BYTES))
                .await
                .map_err(|_| body_timeout(timeout))?;
        return Err(target
            .adapter
            .error(provider, status, &headers, &body)
            .into());
    }
    T::take(reply, provider, deadline, timeout).await
}

/// The backoff policy: exponential from the call's `delay`, with jitter,
/// capped, for `tries - 1` retries. Built only when a retry is due.
fn policy(options: &CallOptions) -> backon::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(options.delay)
        .with_max_delay(MAX_BACKOFF.max(options.delay))
        .with_max_times(options.tries.saturating_sub(1) as usize)
        .with_jitter()
        .build()
}

fn span(exchange: &Exchange<'_>) -> tracing::Span {
    let resolved = &exchange.target.resolved;
    tracing::debug_span!(
        "llmax.call",
        operation = exchange.operation.name(),
        model = resolved.model.name,
        provider = resolved.provider.name,
    )
}

/// The most a call can cost (see [`CallContext::max_cost`]): each byte of
/// a JSON body an input token, `max_tokens` (else the model's maximum
/// output) output tokens; `None` where no bound is known.
fn max_cost(exchange: &Exchange<'_>) -> Option<Usd> {
    let RequestBody::Json(body) = &exchange.body else {
        return None;
    };
    let resolved = &exchange.target.resolved;
    let output = match exchange.operation {
        crate::protocol::Operation::Chat => exchange
            .options
            .max_tokens
            .or(resolved.model.max_output_tokens)?,
        crate::protocol::Operation::Embeddings => 0,
        _ => return None,
    };
    let price = &resolved.price;
    let input = price
        .input
        .max(price.cache_write.unwrap_or(Usd::ZERO))
        .saturating_mul(body.len() as u64);
    Some(input.saturating_add(price.output.saturating_mul(u64::from(output))))
}

/// What a call needs to report its usage once.
pub(crate) struct Accounting {
    pub call_id: CallId,
    pub scope: Scope,
    pub hooks: Arc<dyn UsageHooks>,
    pub model: &'static str,
    pub provider: &'static str,
    pub operation: String,
    pub price: Price,
    pub started: Instant,
    pub attempts: u32,
    pub time_to_first_token: Option<Duration>,
}

impl Accounting {
    /// What the gate sees of the call.
    fn context(&self, max_cost: Option<Usd>) -> CallContext<'_> {
        CallContext {
            call_id: self.call_id,
            scope: &self.scope,
            model: self.model,
            provider: self.provider,
            operation: &self.operation,
            max_cost,
        }
    }

    pub fn record(&self, usage: Usage, succeeded: bool) -> UsageRecord {
        UsageRecord {
            call_id: self.call_id,
            scope: self.scope.clone(),
            cost: usage.cost(&self.price),
            model: self.model,
            provider: self.provider,
            operation: self.operation.clone(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            audio_duration: usage.audio_duration,
            images: usage.images,
            image_price: usage.image_price,
            characters: usage.characters,
            duration: self.started.elapsed(),
            time_to_first_token: self.time_to_first_token,
            attempts: self.attempts,
            succeeded,
        }
    }

    /// The future that reports the record; owns everything it needs.
    /// Consumes the accounting, so a call cannot report twice.
    pub fn report(self, usage: Usage, succeeded: bool) -> BoxFuture<'static, ()> {
        let record = self.record(usage, succeeded);
        let hooks = self.hooks;
        Box::pin(async move { hooks.increment_usage(record).await })
    }
}
