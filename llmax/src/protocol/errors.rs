//! Error bodies: every provider's shape parsed into one [`ProviderError`].
//!
//! Shapes seen in the wild:
//! - OpenAI and most compatible servers: `{"error": {"message", "type", "param", "code"}}`
//! - Anthropic: `{"type": "error", "error": {"type", "message"}}`
//! - Google: `{"error": {"code", "message", "status", "details": [{"retryDelay": "13s"}]}}`,
//!   sometimes wrapped in an array
//! - Mistral and others: `{"message", "type", "param", "code"}` or `{"detail": ...}`
//!
//! Anything else (HTML from a proxy, empty bodies) keeps its status and a
//! snippet of the body.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{ProviderError, ProviderErrorKind, snippet};

/// The longest wait a server may ask for that llmax honours as is; a longer
/// one is capped so that a bad header cannot park a call for hours.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Parses an error answer.
pub(crate) fn parse(
    provider: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> ProviderError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let root = json.as_ref().map(|value| match value {
        Value::Array(items) => items.first().unwrap_or(value),
        other => other,
    });
    let error = root.map(|root| match root.get("error") {
        Some(inner @ Value::Object(_)) => inner,
        _ => root,
    });
    let field = |name: &str| error.and_then(|error| error.get(name)).and_then(text);
    let message = field("message")
        .or_else(|| root.and_then(|root| root.get("error")).and_then(text))
        .or_else(|| field("detail"))
        .unwrap_or_else(|| {
            if body.is_empty() {
                format!("empty body with status {status}")
            } else {
                snippet(body)
            }
        });
    let code = field("code")
        .or_else(|| field("type"))
        .or_else(|| field("status"));
    let param = field("param");
    let retry_after = retry_after_header(headers).or_else(|| error.and_then(retry_delay_in_body));
    ProviderError {
        provider,
        status,
        kind: kind(status, code.as_deref(), &message),
        message,
        code,
        param,
        retry_after,
        body: snippet(body),
    }
}

/// An error event inside a stream (`{"error": {...}}` or Anthropic's
/// `event: error`), which arrives with status 200.
pub(crate) fn from_event(provider: &'static str, data: &str) -> ProviderError {
    parse(provider, 200, &HeaderMap::new(), data.as_bytes())
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Null => None,
        // FastAPI-style `{"detail": [{"msg": ...}]}` and the like.
        other => Some(other.to_string()),
    }
}

fn kind(status: u16, code: Option<&str>, message: &str) -> ProviderErrorKind {
    let code = code.unwrap_or_default();
    let filtered = [
        "content_filter",
        "content_policy_violation",
        "ResponsibleAIPolicyViolation",
    ]
    .iter()
    .any(|marker| code.contains(marker) || message.contains(marker));
    if filtered {
        return ProviderErrorKind::ContentFilter;
    }
    if code == "overloaded_error" || status == 529 {
        return ProviderErrorKind::Overloaded;
    }
    match status {
        400 | 422 => ProviderErrorKind::BadRequest,
        401 | 403 => ProviderErrorKind::Auth,
        404 => ProviderErrorKind::NotFound,
        408 => ProviderErrorKind::RequestTimeout,
        429 => ProviderErrorKind::RateLimit,
        500..=599 => ProviderErrorKind::Server,
        _ => match code {
            "rate_limit_error" | "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => {
                ProviderErrorKind::RateLimit
            }
            "api_error" | "server_error" | "internal_error" => ProviderErrorKind::Server,
            "authentication_error" | "permission_error" => ProviderErrorKind::Auth,
            "invalid_request_error" => ProviderErrorKind::BadRequest,
            _ => ProviderErrorKind::Other,
        },
    }
}

/// `retry-after-ms` (OpenAI), then `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|value| value.trim().parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    let value = header("retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Google's `RetryInfo`: `"details": [{"@type": "...RetryInfo", "retryDelay": "13s"}]`.
fn retry_delay_in_body(error: &Value) -> Option<Duration> {
    error
        .get("details")?
        .as_array()?
        .iter()
        .filter_map(|detail| detail.get("retryDelay")?.as_str())
        .find_map(|delay| seconds(delay.strip_suffix('s')?.parse().ok()?))
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape_with_param() {
        let body = br#"{"error":{"message":"Unsupported parameter: 'max_tokens'","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
        let error = parse("openai", 400, &HeaderMap::new(), body);
        assert_eq!(error.kind, ProviderErrorKind::BadRequest);
        assert_eq!(error.param.as_deref(), Some("max_tokens"));
        assert_eq!(error.code.as_deref(), Some("unsupported_parameter"));
    }

    #[test]
    fn html_body_keeps_status_and_snippet() {
        let error = parse("azure", 502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert_eq!(error.kind, ProviderErrorKind::Server);
        assert!(error.message.contains("Bad Gateway"));
        assert!(error.is_retryable());
    }

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(3)));
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(
            retry_after_header(&headers),
            Some(Duration::from_millis(250))
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_header(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after_header(&headers), None);
    }
}
