//! What a call and its attempts say to `tracing`: spans named and
//! fielded after the OpenTelemetry GenAI semantic conventions.

use super::{Exchange, Target};
use crate::error::Error;
use crate::protocol::Operation;

/// The HTTP status of a failed attempt, if an answer came.
pub(super) fn status_of(error: &Error) -> Option<u16> {
    match error {
        Error::Provider(provider) => Some(provider.status),
        _ => None,
    }
}

/// The OpenTelemetry `error.type` of an error: a short, stable name.
pub(super) fn error_type(error: &Error) -> &'static str {
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
pub(super) fn gen_ai_operation(operation: Operation) -> &'static str {
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
pub(super) fn gen_ai_provider(provider: &'static str) -> &'static str {
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
pub(super) fn otel_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The span of a call. Fields whose value comes later are declared empty
/// (a `tracing` span cannot grow fields) and recorded when known. No prompt
/// nor answer text goes in.
pub(super) fn span(exchange: &Exchange<'_, '_>) -> tracing::Span {
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
pub(super) fn attempt_span(
    exchange: &Exchange<'_, '_>,
    target: &Target,
    attempt: u32,
) -> tracing::Span {
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
