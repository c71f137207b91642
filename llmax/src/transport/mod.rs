//! Transports: how a request that a protocol built reaches a provider, and
//! how the reply comes back.
//!
//! There are two, and the engine sees the same [`Reply`] from both: HTTP
//! (reqwest) for every real provider, and the in-process mock
//! ([`mock`]), which answers OpenAI requests with real OpenAI wire bytes
//! that go through the real decoders. A deployment whose base URL has the
//! `mock://` scheme uses the mock; the manifest's `mock` provider has one.

pub(crate) mod http;
pub(crate) mod mock;
pub(crate) mod multipart;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use crate::error::{Error, Result};

/// The URL scheme of the in-process mock transport.
pub(crate) const MOCK_SCHEME: &str = "mock";

/// One request, built once per call and sent once per attempt.
pub(crate) struct Request<'a> {
    pub url: &'a reqwest::Url,
    pub headers: &'a HeaderMap,
    pub body: RequestBody,
}

/// A request body. Cheap to clone (the bytes are shared), so each attempt
/// sends the same body without copying it.
#[derive(Clone)]
pub(crate) enum RequestBody {
    /// A JSON document (`content-type: application/json` is among the
    /// deployment's headers).
    Json(Bytes),
    /// A `multipart/form-data` upload, described: each attempt builds the
    /// form from it (with its own boundary, which replaces the
    /// deployment's JSON content type) and streams a file from disk again.
    Multipart(Arc<multipart::Form>),
}

/// Where a request goes.
#[derive(Clone, Copy)]
pub(crate) enum Transport<'a> {
    /// Over HTTP, with this client.
    Http(&'a http::Http),
    /// To the in-process mock.
    Mock,
}

impl Transport<'_> {
    /// Sends one attempt. `reached` is set once the provider may have seen
    /// the request (anything past connecting), which decides whether a
    /// failed call is accounted.
    pub async fn send(
        self,
        provider: &'static str,
        request: &Request<'_>,
        reached: &mut bool,
    ) -> Result<Reply> {
        match self {
            Transport::Http(http) => http.send(provider, request, reached).await,
            Transport::Mock => {
                *reached = true;
                Ok(mock::answer(request))
            }
        }
    }
}

/// A reply: its status and headers, and a body not read yet.
pub(crate) enum Reply {
    Http(reqwest::Response),
    Mock {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
    },
}

/// Why reading a streamed body failed.
#[derive(Debug)]
pub(crate) struct ReadError(pub(crate) Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A body read as it arrives.
pub(crate) type ByteStream = BoxStream<'static, std::result::Result<Bytes, ReadError>>;

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::Http(response) => response.status().as_u16(),
            Reply::Mock { status, .. } => *status,
        }
    }

    pub fn headers(&self) -> &HeaderMap {
        match self {
            Reply::Http(response) => response.headers(),
            Reply::Mock { headers, .. } => headers,
        }
    }

    /// Whether the body is declared as JSON (`application/json`, or a
    /// `+json` type).
    pub fn is_json(&self) -> bool {
        self.headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|kind| {
                let kind = kind.trim();
                kind.eq_ignore_ascii_case("application/json") || kind.ends_with("+json")
            })
    }

    /// Reads the whole body; past `limit` bytes, a decode error.
    pub async fn read(self, provider: &'static str, limit: usize) -> Result<Vec<u8>> {
        match self {
            Reply::Http(response) => http::read(provider, response, limit, false).await,
            Reply::Mock { body, .. } => Ok(body.to_vec()),
        }
    }

    /// Reads at most `limit` bytes of the body and drops the rest (error
    /// bodies: their start says enough). A body that fails midway gives
    /// what arrived.
    pub async fn read_start(self, provider: &'static str, limit: usize) -> Vec<u8> {
        match self {
            Reply::Http(response) => http::read(provider, response, limit, true)
                .await
                .unwrap_or_default(),
            Reply::Mock { body, .. } => body[..body.len().min(limit)].to_vec(),
        }
    }

    /// The body as a stream of byte chunks.
    pub fn into_stream(self) -> ByteStream {
        match self {
            Reply::Http(response) => response
                .bytes_stream()
                .map(|item| item.map_err(|error| ReadError(Box::new(error))))
                .boxed(),
            Reply::Mock { body, .. } => futures_util::stream::iter([Ok(body)]).boxed(),
        }
    }
}

/// A read that went past its limit.
pub(crate) fn too_large(provider: &'static str, limit: usize, start: &[u8]) -> Error {
    Error::decode(
        provider,
        format!("the response body exceeds {limit} bytes"),
        start,
    )
}
