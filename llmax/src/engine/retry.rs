//! The retry loop of a call, the only one: the route walked a round at a
//! time, one attempt per deployment picked, the backoff between rounds.

use std::future::Future;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use tracing::Instrument;

use super::accounting::Accounting;
use super::trace::{attempt_span, error_type, status_of};
use super::{Engine, Exchange, MAX_BACKOFF, MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, Target};
use crate::error::{Error, Result, TimeoutPhase};
use crate::options::CallOptions;
use crate::routing::{Planner, moves_on};
use crate::transport::http::Http;
use crate::transport::{Reply, Request, RequestBody, Transport};
use crate::usage::Attempt;

/// How an accepted reply is taken: read in full (`Vec<u8>`) or handed on
/// as a stream (`Reply`).
pub(super) trait Take: Sized {
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

pub(super) fn body_timeout(after: Duration) -> Error {
    Error::Timeout {
        phase: TimeoutPhase::Body,
        after,
    }
}

/// The body for the first deployment of the call's model that serves the
/// operation, built before the gate: a request no deployment of the model
/// could take is refused before anything else.
pub(super) fn first_body<'a>(exchange: &Exchange<'a, '_>) -> Result<(&'a Target, RequestBody)> {
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
pub(super) fn same_body(a: &Target, b: &Target) -> bool {
    std::ptr::eq(a, b)
        || (a.adapter == b.adapter
            && std::ptr::eq(a.resolved.model, b.resolved.model)
            && std::ptr::eq(a.resolved.provider, b.resolved.provider)
            && a.resolved.wire_model == b.resolved.wire_model)
}

/// A reply a provider accepted, from the deployment that gave it.
pub(super) struct Accepted<'a, T> {
    pub(super) value: T,
    pub(super) latency: Duration,
    pub(super) target: &'a Target,
    /// The attempt's span, for an error found after it (a stream's).
    pub(super) span: tracing::Span,
}

/// The retry loop of one call, the only one. Walks the route a round at a
/// time (every healthy deployment of the model, then of each fallback
/// model), moving on at once after a failure another deployment may not
/// have (429, 5xx, no connection, a refused key), and waits between rounds
/// as the backoff policy or the provider says. Kept across attempts, so
/// that a stream that fails before its first chunk goes back into it.
pub(super) struct Retry<'e, 'a, 'b> {
    pub(super) engine: &'e Engine,
    pub(super) http: &'e Http,
    pub(super) exchange: &'e Exchange<'a, 'b>,
    pub(super) planner: Planner<'e, 'a>,
    pub(super) backoff: Option<backon::ExponentialBackoff>,
    /// Whether any attempt may have reached a provider (then a failed call
    /// is accounted).
    pub(super) reached: bool,
    /// The last body built, and for which deployment: a retry on the same
    /// one, or on one that builds the same body, does not rebuild it.
    pub(super) built: (&'a Target, RequestBody),
    pub(super) last_error: Option<Error>,
    pub(super) timeout: Duration,
}

impl<'e, 'a, 'b> Retry<'e, 'a, 'b> {
    pub(super) fn new(
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
    pub(super) fn failed(&mut self, error: Error) {
        self.last_error = Some(error);
    }

    /// Attempts until a provider accepts the request: the reply (read in
    /// full unless `T` is a stream), its latency and the deployment that
    /// gave it, recorded in `accounting`; or the error to end the call with
    /// (not accounted yet: the caller does it, knowing `reached`).
    pub(super) async fn next<T: Take>(
        &mut self,
        accounting: &mut Accounting,
    ) -> Result<Accepted<'a, T>> {
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
pub(super) fn twin(error: &Error) -> Error {
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
pub(super) async fn attempt<T: Take>(
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
pub(super) fn policy(options: &CallOptions) -> backon::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(options.delay)
        .with_max_delay(MAX_BACKOFF.max(options.delay))
        .with_max_times(options.tries.saturating_sub(1) as usize)
        .with_jitter()
        .build()
}
