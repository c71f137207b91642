//! Wire protocols: one adapter per protocol, chosen from the manifest.
//!
//! An adapter turns llmax's messages and options into a request body, a
//! response body into a [`ChatResponse`](crate::ChatResponse) (less the
//! fields the client fills in), stream events into
//! [`StreamChunk`](crate::StreamChunk)s, and error bodies into
//! [`ProviderError`](crate::ProviderError)s. Providers are data; only the
//! protocols are code.

pub(crate) mod anthropic;
pub(crate) mod errors;
pub(crate) mod openai;

use reqwest::header::HeaderMap;

use crate::catalog::Protocol;
use crate::deployment::Resolved;
use crate::error::Result;
use crate::message::Message;
use crate::options::CallOptions;
use crate::response::{Choice, StreamChunk, Usage};

/// A float option as JSON, refusing NaN and infinities (which JSON cannot
/// carry) before anything is sent.
pub(crate) fn finite(model: &'static str, name: &str, value: f64) -> Result<serde_json::Value> {
    serde_json::Number::from_f64(value)
        .map(serde_json::Value::Number)
        .ok_or_else(|| crate::Error::InvalidRequest {
            model,
            message: format!("`{name}` must be a finite number, not {value}"),
        })
}

/// A parsed non-streamed response, before the client adds cost and timing.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub id: String,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// What a stream decoder says after an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// More events are expected.
    Continue,
    /// The provider said the stream is complete.
    Done,
}

/// Turns the events of one stream into chunks. Stateful: tool calls and
/// usage may be spread over many events.
pub(crate) trait StreamDecoder: Send {
    /// Decodes one SSE event (`event` is its type, empty if none).
    fn decode(&mut self, event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow>;

    /// The usage known so far, for accounting when a stream is cut.
    fn usage(&self) -> Option<Usage>;
}

/// The adapter of a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    OpenAi,
    Anthropic,
    Mock,
}

impl Adapter {
    pub fn for_protocol(protocol: Protocol) -> Adapter {
        match protocol {
            Protocol::OpenAi => Adapter::OpenAi,
            Protocol::Anthropic => Adapter::Anthropic,
            Protocol::Mock => Adapter::Mock,
        }
    }

    /// The URL of the chat endpoint for a deployment (`None` for the
    /// in-process mock).
    pub fn chat_url(self, resolved: &Resolved) -> Result<Option<reqwest::Url>> {
        let path = match self {
            Adapter::OpenAi => "/chat/completions",
            Adapter::Anthropic => "/v1/messages",
            Adapter::Mock => return Ok(None),
        };
        let url = format!("{}{path}", resolved.base_url);
        let mut url = reqwest::Url::parse(&url).map_err(|error| {
            crate::Error::Config(format!(
                "deployment of `{}` on `{}`: invalid URL `{url}`: {error}",
                resolved.model.name, resolved.provider.name
            ))
        })?;
        if !resolved.query.is_empty() {
            url.query_pairs_mut().extend_pairs(resolved.query.iter());
        }
        Ok(Some(url))
    }

    /// The request body.
    pub fn body(
        self,
        resolved: &Resolved,
        messages: &[Message],
        options: &CallOptions,
        stream: bool,
    ) -> Result<Vec<u8>> {
        match self {
            Adapter::OpenAi | Adapter::Mock => openai::body(resolved, messages, options, stream),
            Adapter::Anthropic => anthropic::body(resolved, messages, options, stream),
        }
    }

    /// Parses a whole successful response body.
    pub fn parse(self, provider: &'static str, body: &[u8]) -> Result<Parsed> {
        match self {
            Adapter::OpenAi | Adapter::Mock => openai::parse(provider, body),
            Adapter::Anthropic => anthropic::parse(provider, body),
        }
    }

    /// A decoder for one stream.
    pub fn decoder(self, provider: &'static str) -> Box<dyn StreamDecoder> {
        match self {
            Adapter::OpenAi | Adapter::Mock => Box::new(openai::Decoder::new(provider)),
            Adapter::Anthropic => Box::new(anthropic::Decoder::new(provider)),
        }
    }

    /// Parses an error answer.
    pub fn error(
        self,
        provider: &'static str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> crate::ProviderError {
        errors::parse(provider, status, headers, body)
    }
}
