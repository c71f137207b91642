//! What a call needs to report its usage once, and what its gate sees of
//! it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::trace::{error_type, gen_ai_provider, otel_int};
use super::{Exchange, Target};
use crate::catalog::{Price, Usd};
use crate::error::Error;
use crate::response::Usage;
use crate::routing::InFlight;
use crate::transport::RequestBody;
use crate::usage::{Attempt, CallContext, CallId, Scope, UsageHooks, UsageRecord};

/// The most a call can cost (see [`CallContext::max_cost`]): each byte of
/// a JSON body an input token, `max_tokens` (else the model's maximum
/// output) output tokens; `None` where no bound is known. Priced at the
/// first deployment's rates: a fallback to a dearer model may cost more.
pub(super) fn max_cost(
    exchange: &Exchange<'_, '_>,
    target: &Target,
    body: &RequestBody,
) -> Option<Usd> {
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
    pub(super) fn context(&self, max_cost: Option<Usd>) -> CallContext<'_> {
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
    pub(super) fn answered(&mut self, target: &Target, in_flight: InFlight) {
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

    /// The call failed after its gate: accounted if it reached a provider,
    /// else released (the hooks' reservation, if any); gives the error back.
    pub(super) async fn fail(self, error: Error, reached: bool) -> Error {
        self.record_error(&error);
        if reached {
            self.report(Usage::default(), false).await;
        } else {
            self.hooks.release_call(self.call_id).await;
        }
        error
    }

    pub(super) fn record(&mut self, usage: Usage, succeeded: bool) -> UsageRecord {
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
