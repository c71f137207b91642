//! The HTTP transport (reqwest).

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;

use super::{Reply, Request, RequestBody, too_large};
use crate::error::{ConfigErrorKind, Error, Result, TimeoutPhase};

/// An HTTP client and the connect timeout it was built with (reqwest does
/// not say which of its timeouts fired, so llmax keeps the figure).
#[derive(Clone)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub connect_timeout: Duration,
}

impl Http {
    /// llmax's own client: connect timeout, no Nagle delay (requests are
    /// small and latency-bound).
    pub fn new(connect_timeout: Duration) -> Result<Http> {
        let runtime = |message: String| Error::config(ConfigErrorKind::Runtime, message);
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .tls_backend_preconfigured(
                tls_config().map_err(|error| runtime(format!("cannot set up TLS: {error}")))?,
            )
            .build()
            .map_err(|error| runtime(format!("cannot build the HTTP client: {error}")))?;
        Ok(Http {
            client,
            connect_timeout,
        })
    }

    /// Sends one attempt; any status is a reply.
    pub async fn send(
        &self,
        provider: &'static str,
        request: &Request<'_>,
        reached: &mut bool,
    ) -> Result<Reply> {
        let builder = self.client.post(request.url.clone());
        let builder = match &request.body {
            RequestBody::Json(body) => builder.headers(request.headers.clone()).body(body.clone()),
            RequestBody::Multipart(form) => {
                // reqwest appends its `multipart/form-data; boundary=...`
                // header to those given: the deployment's JSON content type
                // must go, or the request would carry both.
                let mut headers = request.headers.clone();
                headers.remove(CONTENT_TYPE);
                builder.headers(headers).multipart(form.build().await?)
            }
        };
        let response = builder.send().await.map_err(|source| {
            if !source.is_connect() {
                *reached = true;
            }
            self.error(provider, source)
        })?;
        *reached = true;
        Ok(Reply::Http(response))
    }

    fn error(&self, provider: &'static str, source: reqwest::Error) -> Error {
        if source.is_connect() && source.is_timeout() {
            return Error::Timeout {
                phase: TimeoutPhase::Connect,
                after: self.connect_timeout,
            };
        }
        Error::Connection { provider, source }
    }
}

/// Reads a body up to `limit` bytes. Past it: the start if `truncate`
/// (error bodies), else a decode error.
pub(super) async fn read(
    provider: &'static str,
    mut response: reqwest::Response,
    limit: usize,
    truncate: bool,
) -> Result<Vec<u8>> {
    let hint = response
        .content_length()
        .map_or(4096, |len| usize::try_from(len).unwrap_or(limit).min(limit));
    let mut body = Vec::with_capacity(hint);
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| Error::Connection { provider, source })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > limit {
            if truncate {
                body.extend_from_slice(&chunk[..limit - body.len()]);
                return Ok(body);
            }
            return Err(too_large(provider, limit, &body));
        }
        body.extend_from_slice(&chunk);
    }
}

/// TLS on ring with the system's trust store, given to reqwest ready-made.
///
/// reqwest 0.13 without aws-lc has no crypto provider of its own (see
/// llmax/Cargo.toml); installing ring as the process-wide default would
/// make an application's own later `install_default().unwrap()` panic, so
/// llmax keeps its provider to its own client. reqwest sets ALPN only on the
/// configs it builds, hence the protocols here (HTTP/2, then HTTP/1.1).
fn tls_config() -> std::result::Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
