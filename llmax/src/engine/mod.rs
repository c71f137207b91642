//! The engine: the one path of every request.
//!
//! Every call, whatever its endpoint, goes the same way:
//!
//! 1. resolve the deployments of the model and of its fallback models (a
//!    [`Route`]), and check that the model and its protocol serve the
//!    operation;
//! 2. gate: refuse the call before any traffic once the budget is spent,
//!    when the client's gate says no, or when the hooks' `gate_call`
//!    refuses (a ledger's scoped budgets);
//! 3. send with retries: one loop over the route's deployments, picked by
//!    the [routing](crate::routing) strategy among the healthy ones, the
//!    request body built by the caller's protocol for each deployment's
//!    protocol, one backoff policy between rounds, the provider's
//!    `Retry-After` honoured, one timer per attempt;
//! 4. read the whole body, or hand the stream on;
//! 5. decode with the protocol's codec;
//! 6. account exactly once (here for whole replies; at the end of the
//!    stream, or when it is dropped, for streams), every attempt listed;
//! 7. trace: a `tracing` span per call and one per attempt, with the
//!    OpenTelemetry GenAI field names, a warning per retry.
//!
//! An endpoint adds a body builder and a decoder; it never copies this loop.
//!
//! - this module: [`Target`], [`Engine`] and its calls (`whole`, `stream`,
//!   `bytes`), the gate;
//! - `retry`: the retry loop over the route, one attempt at a time;
//! - `accounting`: the usage record of a call, made once, and what its
//!   gate sees;
//! - `trace`: the call and attempt spans, with the GenAI field names.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use tracing::Instrument;

use crate::catalog::Usd;
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::options::CallOptions;
use crate::protocol::{Adapter, Operation, StreamDecoder};
use crate::response::Usage;
use crate::routing::{Health, InFlight, Route, Verdict, moves_on};
use crate::stream::{AudioBytes, ChatStream, Live};
use crate::transport::http::Http;
use crate::transport::{Reply, RequestBody, Transport};
use crate::usage::{CallContext, CallId, Scope, UsageHooks};

mod accounting;
mod retry;
mod trace;

pub(crate) use accounting::Accounting;

use accounting::max_cost;
use retry::{Accepted, Retry, first_body, twin};
use trace::{error_type, span};

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
    /// Its name in usage records and traces.
    pub label: Arc<str>,
    /// Its share of traffic among its model's deployments.
    pub weight: u32,
    pub health: Health,
    /// The host and port it is reached at (`server.address`, `server.port`).
    pub server_address: Box<str>,
    pub server_port: Option<u16>,
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

/// The user's gate: whether the call may go ahead.
pub(crate) type GateFn = dyn Fn() -> BoxFuture<'static, bool> + Send + Sync;

/// What the engine needs beside the deployments: hooks, budget, gate,
/// cooldown, timeouts and transports.
pub(crate) struct Engine {
    pub hooks: Arc<dyn UsageHooks>,
    pub budget: Option<Usd>,
    pub gate: Option<Arc<GateFn>>,
    /// How long a deployment that failed without a `Retry-After` rests.
    pub cooldown: Duration,
    /// Whether chat spans carry the prompt and the answer.
    pub trace_content: bool,
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

/// Builds the request body of a call for one deployment (each protocol
/// writes its own; a fallback to another protocol gets its own body).
pub(crate) type BuildBody<'b> = &'b (dyn Fn(&Target) -> Result<RequestBody> + Sync);

/// One call through the engine: the deployments it may go to, and how to
/// build its request for each. The deployments (`'a`) outlive the call's
/// own data (`'b`): the one that answered is handed back.
pub(crate) struct Exchange<'a, 'b> {
    pub route: Route<'a>,
    pub operation: Operation,
    pub body: BuildBody<'b>,
    pub options: &'b CallOptions,
    /// The name of the call in usage records, unless the options set one.
    pub name: &'static str,
    /// The prompt as OpenTelemetry's `gen_ai.input.messages` JSON, for
    /// the call's span when the client traces content (chat calls).
    pub prompt: Option<&'b (dyn Fn() -> String + Sync)>,
}

/// A decoded reply, with what it used and cost.
pub(crate) struct Decoded<'a, T> {
    pub value: T,
    pub usage: Usage,
    pub cost: Usd,
    /// From sending the last attempt to reading the whole body.
    pub latency: Duration,
    /// The deployment that answered.
    pub target: &'a Target,
    /// The call's span (to record the answer on, when tracing content).
    pub span: tracing::Span,
}

impl Engine {
    /// Refuses the call before any traffic: the budget is spent, the
    /// user's gate says no, or the hooks' `gate_call` refuses (a ledger's
    /// scoped budget).
    async fn gate(&self, call: CallContext<'_>) -> Result<()> {
        self.check_budget().await?;
        self.check_gate().await?;
        // Last: a hook may reserve the call's cost here, which a refusal
        // after it would leave held until it expires.
        self.hooks.gate_call(&call).await.map_err(Error::Refused)
    }

    async fn check_budget(&self) -> Result<()> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        match self.hooks.get_usage().await {
            Some(spent) if spent >= budget => Err(Error::Budget { spent, budget }),
            _ => Ok(()),
        }
    }

    async fn check_gate(&self) -> Result<()> {
        match &self.gate {
            Some(gate) if !gate().await => Err(Error::Gated),
            _ => Ok(()),
        }
    }

    fn accounting(&self, exchange: &Exchange<'_, '_>, span: tracing::Span) -> Accounting {
        let target = exchange.route.primary.first();
        let resolved = &target.resolved;
        Accounting {
            call_id: CallId::new(),
            scope: exchange.options.scope.or(&self.scope),
            hooks: self.hooks.clone(),
            model: resolved.model.name,
            provider: resolved.provider.name,
            deployment: target.label.clone(),
            operation: exchange
                .options
                .operation
                .clone()
                .unwrap_or_else(|| exchange.name.to_owned()),
            price: resolved.price,
            started: Instant::now(),
            attempts: 0,
            log: Vec::with_capacity(1),
            spent: Usage::default(),
            spent_cost: Usd::ZERO,
            time_to_first_token: None,
            span,
            in_flight: InFlight::NONE,
        }
    }

    /// Gates, sends with retries, reads the whole body, decodes it with
    /// `decode` (which gives the value and its usage, from the deployment
    /// that answered), and accounts the call once.
    pub async fn whole<'a, T>(
        &self,
        http: &Http,
        exchange: Exchange<'a, '_>,
        decode: impl FnOnce(&'a Target, &[u8]) -> Result<(T, Usage)>,
    ) -> Result<Decoded<'a, T>> {
        let span = span(&exchange);
        self.record_prompt(&exchange, &span);
        let mut accounting = self.accounting(&exchange, span.clone());
        let call_span = span.clone();
        async move {
            let first = first_body(&exchange)?;
            self.gate(accounting.context(max_cost(&exchange, first.0, &first.1)))
                .await?;
            let mut retry = Retry::new(self, http, &exchange, first);
            let accepted = match retry.next::<Vec<u8>>(&mut accounting).await {
                Ok(accepted) => accepted,
                Err(error) => return Err(accounting.fail(error, retry.reached).await),
            };
            let Accepted {
                value: body,
                latency,
                target,
                ..
            } = accepted;
            match decode(target, &body) {
                Ok((value, usage)) => {
                    let cost = usage.cost(&accounting.price);
                    accounting.report(usage, true).await;
                    Ok(Decoded {
                        value,
                        usage,
                        cost,
                        latency,
                        target,
                        span: call_span,
                    })
                }
                Err(error) => {
                    accounting.record_error(&error);
                    accounting.report(Usage::default(), false).await;
                    Err(error)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Gates, sends with retries until a provider accepts the request and
    /// its stream gives a first chunk, and returns the stream, decoded by
    /// the answering deployment's decoder (from `decoder`) and accounted
    /// once when it ends or is dropped.
    ///
    /// A stream that fails before its first chunk (an `overloaded` event,
    /// a connection cut) is one more failed attempt: the next deployment or
    /// fallback model is tried, and the tokens it used are priced into the
    /// call. After the first chunk, an error is the stream's. When nothing
    /// is left to try, the failed stream is handed over as it was, its
    /// error its next item.
    pub async fn stream(
        &self,
        http: &Http,
        exchange: Exchange<'_, '_>,
        decoder: impl Fn(&Target) -> Box<dyn StreamDecoder>,
    ) -> Result<ChatStream> {
        let span = span(&exchange);
        self.record_prompt(&exchange, &span);
        let mut accounting = self.accounting(&exchange, span.clone());
        async move {
            let first = first_body(&exchange)?;
            self.gate(accounting.context(max_cost(&exchange, first.0, &first.1)))
                .await?;
            let idle = self.idle(&exchange);
            let mut retry = Retry::new(self, http, &exchange, first);
            // The last stream that failed before its first chunk, its error,
            // the attempt count then and what had been spent before it:
            // handed over as it was if nothing else is tried.
            let mut failed: Option<(Live, Error, u32, (Usage, Usd))> = None;
            loop {
                let accepted = match retry.next::<Reply>(&mut accounting).await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        return match failed {
                            Some((mut live, error, attempts, before))
                                if attempts == accounting.attempts =>
                            {
                                // The stream reports its own usage again.
                                (accounting.spent, accounting.spent_cost) = before;
                                live.rearm(error, accounting);
                                Ok(ChatStream::new(live))
                            }
                            _ => Err(accounting.fail(error, retry.reached).await),
                        };
                    }
                };
                let target = accepted.target;
                let mut live = Live::new(
                    accepted.value.into_stream(),
                    decoder(target),
                    target.resolved.provider.name,
                    idle,
                    accounting,
                );
                live.hold();
                let error = match futures_util::StreamExt::next(&mut live).await {
                    Some(Ok(chunk)) => {
                        live.release(chunk);
                        return Ok(ChatStream::new(live));
                    }
                    // Over without a chunk, and already accounted.
                    None => return Ok(ChatStream::new(live)),
                    Some(Err(error)) => error,
                };
                let Some(mut reclaimed) = live.reclaim() else {
                    live.rearm_error(error);
                    return Ok(ChatStream::new(live));
                };
                accepted.span.record("error.type", error_type(&error));
                if let Some(last) = reclaimed.log.last_mut() {
                    last.error = Some(error_type(&error));
                }
                self.judge(target, &error);
                let elsewhere =
                    moves_on(&error) || matches!(error, Error::StreamInterrupted { .. });
                if !elsewhere {
                    // The caller's to see, as the stream's first item.
                    live.rearm(error, reclaimed);
                    return Ok(ChatStream::new(live));
                }
                tracing::warn!(
                    model = target.resolved.model.name,
                    deployment = &*target.label,
                    %error,
                    "llmax: the stream failed before its first chunk; trying the next deployment"
                );
                let before = (reclaimed.spent, reclaimed.spent_cost);
                reclaimed.spend(live.usage());
                accounting = reclaimed;
                retry.failed(twin(&error));
                failed = Some((live, error, accounting.attempts, before));
            }
        }
        .instrument(span)
        .await
    }

    /// The prompt on the call's span, if the client traces content.
    fn record_prompt(&self, exchange: &Exchange<'_, '_>, span: &tracing::Span) {
        if let Some(prompt) = exchange.prompt
            && self.trace_content
            && !span.is_disabled()
        {
            span.record("gen_ai.input.messages", prompt());
        }
    }

    fn idle(&self, exchange: &Exchange<'_, '_>) -> Duration {
        exchange
            .options
            .stream_idle_timeout
            .unwrap_or(self.stream_idle_timeout)
    }

    /// Gates, sends with retries until a provider accepts the request, and
    /// hands on its body of raw bytes (audio) whose `usage` is known before
    /// it is sent: accounted once when it ends or is dropped.
    pub async fn bytes(
        &self,
        http: &Http,
        exchange: Exchange<'_, '_>,
        usage: Usage,
    ) -> Result<AudioBytes> {
        let span = span(&exchange);
        self.record_prompt(&exchange, &span);
        let mut accounting = self.accounting(&exchange, span.clone());
        async move {
            let first = first_body(&exchange)?;
            self.gate(accounting.context(max_cost(&exchange, first.0, &first.1)))
                .await?;
            let mut retry = Retry::new(self, http, &exchange, first);
            let accepted = match retry.next::<Reply>(&mut accounting).await {
                Ok(accepted) => accepted,
                Err(error) => return Err(accounting.fail(error, retry.reached).await),
            };
            Ok(AudioBytes::new(
                accepted.value.into_stream(),
                accepted.target.resolved.provider.name,
                usage,
                self.idle(&exchange),
                accounting,
            ))
        }
        .instrument(span)
        .await
    }

    /// What a failed attempt says about its deployment: rested, or out of
    /// rotation (said once, as an error: someone must fix the key).
    fn judge(&self, target: &Target, error: &Error) {
        match Verdict::of(error, self.cooldown) {
            Verdict::Fine => {}
            Verdict::Rest(rest) => {
                tracing::info!(
                    model = target.resolved.model.name,
                    deployment = &*target.label,
                    ?rest,
                    "llmax: deployment resting"
                );
                target.health.rest(rest);
            }
            Verdict::Refused => {
                if target.health.refuse() {
                    tracing::error!(
                        model = target.resolved.model.name,
                        provider = target.resolved.provider.name,
                        deployment = &*target.label,
                        %error,
                        "llmax: the API key of this deployment was refused; it gets no more \
                         calls until the client is rebuilt"
                    );
                }
            }
        }
    }
}
