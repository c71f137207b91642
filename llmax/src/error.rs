//! The one error type of llmax.

use std::time::Duration;

use crate::catalog::{UnknownName, Usd};
use crate::response::Usage;

/// Everything that can go wrong in llmax.
///
/// Variants tell apart what a caller handles differently: fix the
/// configuration ([`Config`](Error::Config)), back off
/// ([`Provider`](Error::Provider) with [`ProviderErrorKind::RateLimit`]),
/// stop spending ([`Budget`](Error::Budget)), and so on.
/// [`is_retryable`](Error::is_retryable) says what llmax itself retries when
/// a call has `tries` left.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client or a deployment is misconfigured; nothing was sent.
    #[error("configuration error: {message}")]
    Config {
        /// What kind of mistake it is.
        kind: ConfigErrorKind,
        /// What is wrong, and where.
        message: String,
    },

    /// A model or provider name that the catalog does not know.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),

    /// The client has no deployment for the model asked for; nothing was sent.
    #[error("no deployment for model `{model}`; deployed models: {deployed}")]
    NoDeployment {
        /// The model asked for.
        model: &'static str,
        /// The models that have a deployment, comma-separated.
        deployed: String,
    },

    /// The request is invalid for this model or protocol; nothing was sent.
    #[error("invalid request for `{model}`: {message}")]
    InvalidRequest {
        /// The model asked for.
        model: &'static str,
        /// What is wrong.
        message: String,
    },

    /// A file to upload (the audio of
    /// [`aspeech_to_text`](crate::MultiAIClient::aspeech_to_text)) could not
    /// be opened, measured or read. Raised before sending when the call is
    /// built, and by an attempt that cannot open the file again (a retry
    /// after the file was removed).
    #[error("cannot read `{}`: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The provider answered with an error status (boxed: errors stay small
    /// on the happy path).
    #[error(transparent)]
    Provider(Box<ProviderError>),

    /// No answer in time.
    #[error("{phase} timed out after {after:?}")]
    Timeout {
        /// Which wait ran out.
        phase: TimeoutPhase,
        /// The limit that was reached.
        after: Duration,
    },

    /// The connection failed (DNS, refused, reset, TLS...).
    #[error("connection to {provider} failed: {source}")]
    Connection {
        /// The provider that could not be reached.
        provider: &'static str,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },

    /// A response body that is not what the protocol says it should be.
    #[error("could not decode the {provider} response: {message}; body starts with: {snippet}")]
    Decode {
        /// The provider that sent it.
        provider: &'static str,
        /// What did not parse.
        message: String,
        /// The start of the offending bytes (lossy UTF-8, truncated).
        snippet: String,
        /// The parser's error, where there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A stream that ended before the provider said it was done.
    #[error("the {provider} stream was interrupted: {reason}")]
    StreamInterrupted {
        /// The provider that was streaming.
        provider: &'static str,
        /// Why it ended.
        reason: String,
        /// The usage known when it ended (already reported to the usage hook).
        usage: Option<Usage>,
    },

    /// The model refused to answer (OpenAI's `refusal`, Anthropic's
    /// `refusal` stop reason) where a typed answer was asked for.
    #[error("`{model}` refused: {message}")]
    Refusal {
        /// The model asked.
        model: &'static str,
        /// The refusal message.
        message: String,
    },

    /// The model's answer does not parse into the type asked for.
    #[error("the answer of `{model}` does not match the expected type: {source}; answer: {}", crate::error::snippet(raw.as_bytes()))]
    InvalidOutput {
        /// The model asked.
        model: &'static str,
        /// The answer as the model gave it.
        raw: String,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },

    /// The budget set on the client is spent; nothing was sent.
    #[error("budget exceeded: {spent} spent of {budget}")]
    Budget {
        /// What the `get_usage` hook reported.
        spent: Usd,
        /// The budget set on the client.
        budget: Usd,
    },

    /// No deployment of the model, nor of its fallback models, may be
    /// called (every key was refused); nothing was sent.
    #[error("no deployment of `{model}` is available: {reason}")]
    Unavailable {
        /// The model asked for.
        model: &'static str,
        /// Why.
        reason: String,
    },

    /// The client's [`gate`](crate::ClientBuilder::gate) refused the call;
    /// nothing was sent.
    #[error("the client's gate refused the call; nothing was sent")]
    Gated,

    /// The hooks' [`gate_call`](crate::UsageHooks::gate_call) refused the
    /// call (a ledger's budget for its user, tenant or project is spent);
    /// nothing was sent.
    #[error("call refused: {0}")]
    Refused(crate::usage::Refusal),

    /// A blocking call (`invoke`, `invoke_to_str`) was made from a thread
    /// that has a Tokio runtime, where it would block a worker thread; use
    /// the `a...` variant instead. (In a `spawn_blocking` closure, which
    /// also has one, `Handle::current().block_on(client.ainvoke(..))` does it.)
    #[error(
        "blocking call `{0}` made from inside an async runtime; use the async variant (`a{0}`) instead"
    )]
    BlockingInRuntime(&'static str),
}

impl Error {
    /// Whether retrying the same request may succeed: rate limits, overload,
    /// server errors, request timeouts and connection failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Provider(error) => error.is_retryable(),
            Error::Timeout { phase, .. } => *phase != TimeoutPhase::StreamIdle,
            Error::Connection { .. } => true,
            _ => false,
        }
    }

    /// The delay the provider asked for before retrying, if it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Provider(error) => error.retry_after,
            _ => None,
        }
    }

    pub(crate) fn decode(
        provider: &'static str,
        message: impl Into<String>,
        bytes: &[u8],
    ) -> Error {
        Error::Decode {
            provider,
            message: message.into(),
            snippet: snippet(bytes),
            source: None,
        }
    }

    /// A decode error that keeps the parser's error as its source.
    pub(crate) fn decode_source(
        provider: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
        bytes: &[u8],
    ) -> Error {
        Error::Decode {
            provider,
            message: source.to_string(),
            snippet: snippet(bytes),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn file(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::File {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn config(kind: ConfigErrorKind, message: impl Into<String>) -> Error {
        Error::Config {
            kind,
            message: message.into(),
        }
    }
}

impl From<ProviderError> for Error {
    fn from(error: ProviderError) -> Error {
        Error::Provider(Box::new(error))
    }
}

/// What kind of configuration mistake an [`Error::Config`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A deployment misses a field its provider requires (Azure's
    /// `endpoint`, Scaleway's `endpoint` or `project_id`...).
    MissingField,
    /// The provider does not serve the deployed model.
    UnservedModel,
    /// No API key on the deployment nor in the provider's environment variable.
    MissingApiKey,
    /// The API key cannot be sent (characters not allowed in a header).
    InvalidApiKey,
    /// A base URL that is not a valid `http`/`https` URL.
    InvalidUrl,
    /// Two deployments of the same model with the same
    /// [label](crate::Deployment::label).
    DuplicateDeployment,
    /// A routing setting that cannot work: a fallback model without a
    /// deployment, more than 64 deployments of one model.
    Routing,
    /// A configuration file that cannot be read or parsed, or names an
    /// unset environment variable.
    ConfigFile,
    /// The HTTP client or the blocking runtime could not be built.
    Runtime,
}

/// The phase of a call that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Opening the connection.
    Connect,
    /// The wait for the response's status and headers, once connected.
    Request,
    /// Reading a whole (non-streamed) response body.
    Body,
    /// The wait between two chunks of a stream.
    StreamIdle,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::Request => "waiting for the response",
            TimeoutPhase::Body => "reading the response body",
            TimeoutPhase::StreamIdle => "waiting for the next stream chunk",
        })
    }
}

/// What kind of error a provider returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// 400 / 422: the request was refused; see `param`.
    BadRequest,
    /// 401 / 403: the key is wrong or lacks rights.
    Auth,
    /// 404: unknown model, deployment or path.
    NotFound,
    /// 408: the provider gave up waiting for the request.
    RequestTimeout,
    /// 429: too many requests or tokens.
    RateLimit,
    /// The content filter refused the prompt or the answer.
    ContentFilter,
    /// 529 or an `overloaded_error`: the provider is overloaded.
    Overloaded,
    /// 5xx: the provider failed.
    Server,
    /// Anything else.
    Other,
}

/// An error answer from a provider, with its body parsed where it follows
/// one of the known shapes (OpenAI, Anthropic, Google).
///
/// `#[non_exhaustive]`: fields will be added; only llmax builds one.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
#[error("{provider} returned {status} ({kind:?}){}: {message}", param.as_ref().map(|p| format!(" on `{p}`")).unwrap_or_default())]
pub struct ProviderError {
    /// The provider that answered.
    pub provider: &'static str,
    /// The HTTP status (200 for an error event inside a stream).
    pub status: u16,
    /// The kind of error.
    pub kind: ProviderErrorKind,
    /// The provider's message.
    pub message: String,
    /// The provider's error code or type (e.g. `unsupported_parameter`).
    pub code: Option<String>,
    /// The request parameter at fault, when the provider names one.
    pub param: Option<String>,
    /// How long the provider asked to wait before retrying (`Retry-After`,
    /// `retry-after-ms`, or a retry delay inside the body).
    pub retry_after: Option<Duration>,
    /// The start of the raw body (truncated).
    pub body: String,
}

impl ProviderError {
    /// Whether a retry may succeed (408, 429, 5xx, overloaded).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ProviderErrorKind::RateLimit
                | ProviderErrorKind::Overloaded
                | ProviderErrorKind::Server
                | ProviderErrorKind::RequestTimeout
        )
    }
}

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

const SNIPPET_BYTES: usize = 512;

/// The start of `bytes` as text, for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let cut = bytes.len().min(SNIPPET_BYTES);
    let mut text = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        text.push_str("...");
    }
    text
}
