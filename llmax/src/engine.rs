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
//! 5. read the whole body, or hand the stream on;
//! 6. decode with the protocol's codec;
//! 7. account exactly once (here for whole replies; at the end of the
//!    stream, or when it is dropped, for streams), every attempt listed;
//! 8. trace: a `tracing` span per call and one per attempt, with the
//!    OpenTelemetry GenAI field names, a warning per retry.
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
use crate::routing::{Health, InFlight, Planner, Route, Verdict, moves_on};
use crate::stream::{AudioBytes, ChatStream, Live};
use crate::transport::http::Http;
use crate::transport::{Reply, Request, RequestBody, Transport};
use crate::usage::{Attempt, CallContext, CallId, Scope, UsageHooks, UsageRecord};

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

/// The body for the first deployment of the call's model that serves the
/// operation, built before the gate: a request no deployment of the model
/// could take is refused before anything else.
fn first_body<'a>(exchange: &Exchange<'a, '_>) -> Result<(&'a Target, RequestBody)> {
    let members = &exchange.route.primary.members;
    let mut refused = None;
    for target in members.iter() {
        match target.check(exchange.operation) {
            Ok(()) => return Ok((target, (exchange.body)(target)?)),
            Err(error) => {
                refused.get_or_insert(error);
            }
        }
    }
    Err(refused.unwrap_or_else(|| Error::InvalidRequest {
        model: exchange.route.primary.model().name,
        message: format!("no deployment serves {}", exchange.operation.name()),
    }))
}

/// Whether two deployments get the same request body: what a protocol
/// writes depends on the model, the provider (quirks) and the name sent on
/// the wire, not on where it is sent nor with which key.
fn same_body(a: &Target, b: &Target) -> bool {
    std::ptr::eq(a, b)
        || (a.adapter == b.adapter
            && std::ptr::eq(a.resolved.model, b.resolved.model)
            && std::ptr::eq(a.resolved.provider, b.resolved.provider)
            && a.resolved.wire_model == b.resolved.wire_model)
}

/// A reply a provider accepted, from the deployment that gave it.
struct Accepted<'a, T> {
    value: T,
    latency: Duration,
    target: &'a Target,
    /// The attempt's span, for an error found after it (a stream's).
    span: tracing::Span,
}

/// The retry loop of one call, the only one. Walks the route a round at a
/// time (every healthy deployment of the model, then of each fallback
/// model), moving on at once after a failure another deployment may not
/// have (429, 5xx, no connection, a refused key), and waits between rounds
/// as the backoff policy or the provider says. Kept across attempts, so
/// that a stream that fails before its first chunk goes back into it.
struct Retry<'e, 'a, 'b> {
    engine: &'e Engine,
    http: &'e Http,
    exchange: &'e Exchange<'a, 'b>,
    planner: Planner<'e, 'a>,
    backoff: Option<backon::ExponentialBackoff>,
    /// Whether any attempt may have reached a provider (then a failed call
    /// is accounted).
    reached: bool,
    /// The last body built, and for which deployment: a retry on the same
    /// one, or on one that builds the same body, does not rebuild it.
    built: (&'a Target, RequestBody),
    last_error: Option<Error>,
    timeout: Duration,
}

impl<'e, 'a, 'b> Retry<'e, 'a, 'b> {
    fn new(
        engine: &'e Engine,
        http: &'e Http,
        exchange: &'e Exchange<'a, 'b>,
        first: (&'a Target, RequestBody),
    ) -> Retry<'e, 'a, 'b> {
        Retry {
            engine,
            http,
            exchange,
            planner: Planner::new(&exchange.route),
            backoff: None,
            reached: false,
            built: first,
            last_error: None,
            timeout: exchange.options.timeout.unwrap_or(engine.timeout),
        }
    }

    /// An accepted reply came to nothing (a stream failed before its first
    /// chunk): the loop goes on as after a failed attempt.
    fn failed(&mut self, error: Error) {
        self.last_error = Some(error);
    }

    /// Attempts until a provider accepts the request: the reply (read in
    /// full unless `T` is a stream), its latency and the deployment that
    /// gave it, recorded in `accounting`; or the error to end the call with
    /// (not accounted yet: the caller does it, knowing `reached`).
    async fn next<T: Take>(&mut self, accounting: &mut Accounting) -> Result<Accepted<'a, T>> {
        let exchange = self.exchange;
        let operation = exchange.operation;
        loop {
            let pick = match self.planner.next() {
                Ok(Some(pick)) => pick,
                Ok(None) => {
                    // The round is over and every attempt failed.
                    let Some(error) = self.last_error.take() else {
                        return Err(Error::InvalidRequest {
                            model: exchange.route.primary.model().name,
                            message: format!("no deployment serves {}", operation.name()),
                        });
                    };
                    let delay = if error.is_retryable() {
                        self.backoff
                            .get_or_insert_with(|| policy(exchange.options))
                            .next()
                    } else {
                        None
                    };
                    let Some(delay) = delay else {
                        return Err(error);
                    };
                    let delay = error.retry_after().unwrap_or(delay);
                    tracing::warn!(
                        model = exchange.route.primary.model().name,
                        attempt = accounting.attempts,
                        ?delay,
                        %error,
                        "llmax: retrying"
                    );
                    tokio::time::sleep(delay).await;
                    self.planner.next_round();
                    self.last_error = Some(error);
                    continue;
                }
                Err(unavailable) => return Err(self.last_error.take().unwrap_or(unavailable)),
            };
            let target: &'a Target = pick.target;
            let body = if same_body(self.built.0, target) {
                Ok(self.built.1.clone())
            } else {
                target
                    .check(operation)
                    .and_then(|()| (exchange.body)(target))
            };
            let body = match body {
                Ok(body) => body,
                // A deployment that cannot take this request (another
                // protocol's limits): the next one.
                Err(error) => {
                    tracing::warn!(
                        model = target.resolved.model.name,
                        deployment = &*target.label,
                        %error,
                        "llmax: skipping a fallback that cannot take this request"
                    );
                    self.last_error.get_or_insert(error);
                    continue;
                }
            };
            self.built = (target, body.clone());
            let Some(url) = target.url(operation, T::STREAM) else {
                continue;
            };
            let request = Request {
                url,
                headers: &target.headers,
                body,
            };
            accounting.attempts += 1;
            let attempt_span = attempt_span(exchange, target, accounting.attempts);
            let started = Instant::now();
            let sending = attempt::<T>(
                target.transport(self.http),
                target,
                &request,
                self.timeout,
                &mut self.reached,
            );
            // Without a subscriber the span is disabled: not wrapping the
            // attempt spares moving its future (the HTTP client's is large)
            // on the happy path.
            let outcome = if attempt_span.is_disabled() {
                sending.await
            } else {
                sending.instrument(attempt_span.clone()).await
            };
            let duration = started.elapsed();
            match outcome {
                Ok((accepted, status)) => {
                    attempt_span.record("http.response.status_code", i64::from(status));
                    target.health.recovered();
                    accounting
                        .log
                        .push(Attempt::new(target, Some(status), None, duration));
                    accounting.answered(target, pick.in_flight);
                    return Ok(Accepted {
                        value: accepted,
                        latency: duration,
                        target,
                        span: attempt_span,
                    });
                }
                Err(error) => {
                    let status = status_of(&error);
                    if let Some(status) = status {
                        attempt_span.record("http.response.status_code", i64::from(status));
                    }
                    attempt_span.record("error.type", error_type(&error));
                    accounting.log.push(Attempt::new(
                        target,
                        status,
                        Some(error_type(&error)),
                        duration,
                    ));
                    self.engine.judge(target, &error);
                    if !moves_on(&error) {
                        return Err(error);
                    }
                    self.last_error = Some(error);
                }
            }
        }
    }
}

/// A stand-in for an error kept elsewhere (a failed stream keeps its own),
/// for the retry loop to decide on and report if nothing else is tried.
fn twin(error: &Error) -> Error {
    match error {
        Error::Provider(provider) => Error::Provider(provider.clone()),
        Error::Timeout { phase, after } => Error::Timeout {
            phase: *phase,
            after: *after,
        },
        Error::StreamInterrupted {
            provider,
            reason,
            usage,
        } => Error::StreamInterrupted {
            provider,
            reason: reason.clone(),
            usage: *usage,
        },
        other => Error::StreamInterrupted {
            provider: "",
            reason: other.to_string(),
            usage: None,
        },
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
) -> Result<(T, u16)> {
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
    Ok((T::take(reply, provider, deadline, timeout).await?, status))
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

/// The HTTP status of a failed attempt, if an answer came.
fn status_of(error: &Error) -> Option<u16> {
    match error {
        Error::Provider(provider) => Some(provider.status),
        _ => None,
    }
}

/// The OpenTelemetry `error.type` of an error: a short, stable name.
pub(crate) fn error_type(error: &Error) -> &'static str {
    use crate::error::ProviderErrorKind as Kind;
    match error {
        Error::Provider(provider) => match provider.kind {
            Kind::BadRequest => "bad_request",
            Kind::Auth => "auth",
            Kind::NotFound => "not_found",
            Kind::RequestTimeout => "request_timeout",
            Kind::RateLimit => "rate_limit",
            Kind::ContentFilter => "content_filter",
            Kind::Overloaded => "overloaded",
            Kind::Server => "server_error",
            _ => "provider_error",
        },
        Error::Timeout { .. } => "timeout",
        Error::Connection { .. } => "connection",
        Error::Decode { .. } => "decode",
        Error::StreamInterrupted { .. } => "stream_interrupted",
        Error::InvalidRequest { .. } => "invalid_request",
        Error::Refusal { .. } => "refusal",
        Error::InvalidOutput { .. } => "invalid_output",
        Error::Budget { .. } => "budget",
        Error::Gated => "gated",
        Error::Unavailable { .. } => "unavailable",
        _ => "_OTHER",
    }
}

/// The OpenTelemetry `gen_ai.operation.name` of an operation.
fn gen_ai_operation(operation: Operation) -> &'static str {
    match operation {
        Operation::Chat => "chat",
        Operation::Embeddings => "embeddings",
        Operation::Transcription => "speech_to_text",
        Operation::Images => "image_generation",
        Operation::Speech => "text_to_speech",
    }
}

/// The OpenTelemetry `gen_ai.provider.name` of a catalog provider: the
/// convention's well-known values, else the catalog name.
pub(crate) fn gen_ai_provider(provider: &'static str) -> &'static str {
    match provider {
        "azure" => "azure.ai.openai",
        "mistral" => "mistral_ai",
        "gemini" => "gcp.gemini",
        "groq" => "groq",
        "deepseek" => "deepseek",
        other => other,
    }
}

/// Integers go into spans signed: OpenTelemetry has no unsigned type, and
/// `tracing-opentelemetry` exports a `u64` as a string.
fn otel_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The span of a call. Fields whose value comes later are declared empty
/// (a `tracing` span cannot grow fields) and recorded when known. No prompt
/// nor answer text goes in.
fn span(exchange: &Exchange<'_, '_>) -> tracing::Span {
    let target = exchange.route.primary.first();
    let resolved = &target.resolved;
    let operation = gen_ai_operation(exchange.operation);
    tracing::info_span!(
        "llmax.call",
        otel.name = %format_args!("{operation} {}", resolved.model.name),
        otel.status_code = tracing::field::Empty,
        gen_ai.operation.name = operation,
        gen_ai.provider.name = gen_ai_provider(resolved.provider.name),
        gen_ai.request.model = resolved.model.name,
        gen_ai.response.model = tracing::field::Empty,
        gen_ai.input.messages = tracing::field::Empty,
        gen_ai.output.messages = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        server.address = &*target.server_address,
        server.port = target.server_port.map(i64::from),
        error.type = tracing::field::Empty,
        llmax.deployment = tracing::field::Empty,
        llmax.attempts = tracing::field::Empty,
        llmax.cost_usd = tracing::field::Empty,
        llmax.operation = exchange.options.operation.as_deref().unwrap_or(exchange.name),
    )
}

/// The span of one attempt, a child of the call's.
fn attempt_span(exchange: &Exchange<'_, '_>, target: &Target, attempt: u32) -> tracing::Span {
    let resolved = &target.resolved;
    let operation = gen_ai_operation(exchange.operation);
    tracing::info_span!(
        "llmax.attempt",
        otel.name = %format_args!("{operation} {}", resolved.model.name),
        gen_ai.operation.name = operation,
        gen_ai.provider.name = gen_ai_provider(resolved.provider.name),
        gen_ai.request.model = resolved.model.name,
        server.address = &*target.server_address,
        server.port = target.server_port.map(i64::from),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        llmax.deployment = &*target.label,
        llmax.attempt = i64::from(attempt),
    )
}

/// The most a call can cost (see [`CallContext::max_cost`]): each byte of
/// a JSON body an input token, `max_tokens` (else the model's maximum
/// output) output tokens; `None` where no bound is known. Priced at the
/// first deployment's rates: a fallback to a dearer model may cost more.
fn max_cost(exchange: &Exchange<'_, '_>, target: &Target, body: &RequestBody) -> Option<Usd> {
    let RequestBody::Json(body) = body else {
        return None;
    };
    let resolved = &target.resolved;
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
    /// The model, provider, deployment and price of the deployment that
    /// answered (the first one until one does).
    pub model: &'static str,
    pub provider: &'static str,
    pub deployment: Arc<str>,
    pub operation: String,
    pub price: Price,
    pub started: Instant,
    pub attempts: u32,
    pub log: Vec<Attempt>,
    /// What failed attempts consumed (a stream cut before its first
    /// chunk), priced at their deployment's prices.
    pub spent: Usage,
    pub spent_cost: Usd,
    pub time_to_first_token: Option<Duration>,
    /// The call's span: the usage is recorded on it, and it ends with the
    /// accounting (for a stream, when the stream ends).
    pub span: tracing::Span,
    /// Counts the call in flight on the answering deployment until it is
    /// accounted.
    pub in_flight: InFlight,
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

    /// The deployment that accepted the call.
    fn answered(&mut self, target: &Target, in_flight: InFlight) {
        let resolved = &target.resolved;
        self.model = resolved.model.name;
        self.provider = resolved.provider.name;
        self.price = resolved.price;
        if !Arc::ptr_eq(&self.deployment, &target.label) {
            self.deployment = target.label.clone();
            self.span.record("server.address", &*target.server_address);
        }
        self.in_flight = in_flight;
    }

    /// The answering attempt failed after all, having used `usage`: priced
    /// into the call, and the call is no longer in flight there.
    pub fn spend(&mut self, usage: Option<Usage>) {
        if let Some(usage) = usage {
            let cost = usage.cost(&self.price);
            if let Some(last) = self.log.last_mut() {
                last.cost = cost;
            }
            self.spent = self.spent + usage;
            self.spent_cost += cost;
        }
        self.in_flight = InFlight::NONE;
        self.time_to_first_token = None;
    }

    /// Puts the error's type on the call's span.
    pub fn record_error(&self, error: &Error) {
        self.span.record("error.type", error_type(error));
        self.span.record("otel.status_code", "ERROR");
    }

    /// The call failed: accounted if it reached a provider; gives the error
    /// back.
    async fn fail(self, error: Error, reached: bool) -> Error {
        self.record_error(&error);
        if reached {
            self.report(Usage::default(), false).await;
        }
        error
    }

    fn record(&mut self, usage: Usage, succeeded: bool) -> UsageRecord {
        let answered = usage.cost(&self.price);
        if let Some(last) = self.log.last_mut()
            && last.error.is_none()
        {
            last.cost = answered;
        }
        let cost = answered + self.spent_cost;
        let usage = usage + self.spent;
        let span = &self.span;
        if !span.is_disabled() {
            span.record("gen_ai.provider.name", gen_ai_provider(self.provider));
            span.record("gen_ai.response.model", self.model);
            span.record("gen_ai.usage.input_tokens", otel_int(usage.input_tokens));
            span.record("gen_ai.usage.output_tokens", otel_int(usage.output_tokens));
            span.record("llmax.deployment", &*self.deployment);
            span.record("llmax.attempts", i64::from(self.attempts));
            span.record("llmax.cost_usd", cost.as_f64());
        }
        UsageRecord {
            call_id: self.call_id,
            scope: self.scope.clone(),
            cost,
            model: self.model,
            provider: self.provider,
            deployment: self.deployment.clone(),
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
            attempt_log: std::mem::take(&mut self.log),
            succeeded,
        }
    }

    /// The future that reports the record; owns everything it needs.
    /// Consumes the accounting, so a call cannot report twice.
    pub fn report(mut self, usage: Usage, succeeded: bool) -> BoxFuture<'static, ()> {
        let record = self.record(usage, succeeded);
        let hooks = self.hooks;
        Box::pin(async move { hooks.increment_usage(record).await })
    }
}
