//! Embeddings: what [`MultiAIClient::aembed`](crate::MultiAIClient::aembed)
//! takes and returns.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Usd;
use crate::response::Usage;

/// The texts an embeddings call takes: a slice, array or vector of strings
/// by reference (`&["a", "b"]`, `&[String]`, `&Vec<&str>`...), or a vector
/// by value, whose `String`s are moved into the call rather than copied.
///
/// Arrays by value are left out on purpose: with them, `&["a", "b"]` (the
/// natural way to write a few texts) would be a needless borrow to Clippy.
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// let model = llmax::model!("text-embedding-3-small");
/// client.aembed(&["hello", "world"], model).await?;
/// let chunks: Vec<String> = vec!["a long document, cut".into(), "in chunks".into()];
/// client.aembed(&chunks, model).await?; // copied: `chunks` is still yours
/// client.aembed(chunks, model).await?; // moved: no copy
/// # Ok(()) }
/// ```
pub trait EmbedInputs {
    /// The texts, owned.
    fn into_inputs(self) -> Vec<String>;
}

impl<S: AsRef<str>> EmbedInputs for &[S] {
    fn into_inputs(self) -> Vec<String> {
        self.iter().map(|text| text.as_ref().to_owned()).collect()
    }
}

impl<S: AsRef<str>, const N: usize> EmbedInputs for &[S; N] {
    fn into_inputs(self) -> Vec<String> {
        self.as_slice().into_inputs()
    }
}

impl<S: AsRef<str>> EmbedInputs for &Vec<S> {
    fn into_inputs(self) -> Vec<String> {
        self.as_slice().into_inputs()
    }
}

impl<S: Into<String>> EmbedInputs for Vec<S> {
    fn into_inputs(self) -> Vec<String> {
        // For a `Vec<String>` this reuses the vector and its strings.
        self.into_iter().map(Into::into).collect()
    }
}

/// How many batches of one embeddings call are in flight at once, unless
/// [`EmbeddingOptions::concurrency`] says otherwise: enough to embed a large
/// corpus several times faster than one request at a time, few enough not to
/// meet the provider's rate limit at once.
///
/// ```
/// use llmax::{DEFAULT_EMBEDDING_CONCURRENCY, EmbeddingOptions};
///
/// assert_eq!(EmbeddingOptions::new().concurrency, DEFAULT_EMBEDDING_CONCURRENCY);
/// // One request at a time, for a server that rate-limits hard.
/// assert_eq!(EmbeddingOptions::new().concurrency(1).concurrency, 1);
/// ```
pub const DEFAULT_EMBEDDING_CONCURRENCY: usize = 4;

/// The vectors of an embeddings call, one per input, with what the call
/// used and cost.
///
/// `#[non_exhaustive]`: fields will be added as providers report more;
/// only llmax builds one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, MultiAIClient, Provider};
///
/// let model = llmax::model!("text-embedding-3-small");
/// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
/// let e = client.aembed(&["hello", "world"], model).await?;
/// assert_eq!(e.embeddings.len(), 2);
/// assert_eq!(e.embeddings[0].len(), 1536);
/// println!("{} tokens, {}", e.usage.input_tokens, e.cost);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EmbeddingResponse {
    /// One vector per input, in the order of the inputs (whatever order the
    /// provider listed them in), decoded to `f32` whatever the
    /// [`EmbeddingEncoding`] on the wire.
    pub embeddings: Vec<Vec<f32>>,
    /// The model name the provider reported.
    pub model: String,
    /// The catalog model that was called.
    pub catalog_model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
    /// Token counts (input only: embeddings generate nothing), summed over
    /// the requests of a batched call.
    pub usage: Usage,
    /// What the call cost, from the catalog's input price, summed over its
    /// requests.
    pub cost: Usd,
    /// The sum, over the call's requests, of the time from sending a
    /// request (its last attempt) to reading its whole body. With batches in
    /// flight at once it is more than the wall time of the call.
    pub latency: Duration,
    /// How many requests the inputs were sent in (see
    /// [`EmbeddingOptions::batch_size`]).
    pub requests: usize,
}

/// How the provider sends the vectors. Either way they arrive decoded to
/// `f32`; the encoding only changes the wire.
///
/// ```
/// use llmax::{EmbeddingEncoding, EmbeddingOptions};
///
/// let options = EmbeddingOptions::new().encoding(EmbeddingEncoding::Base64);
/// assert_eq!(options.encoding, Some(EmbeddingEncoding::Base64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmbeddingEncoding {
    /// A JSON array of numbers per vector (`encoding_format: "float"`).
    Float,
    /// Each vector as base64 of its little-endian `f32`s
    /// (`encoding_format: "base64"`): about a quarter of the bytes of
    /// `Float`, and faster to decode.
    Base64,
}

impl EmbeddingEncoding {
    /// The `encoding_format` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmbeddingEncoding::Float => "float",
            EmbeddingEncoding::Base64 => "base64",
        }
    }
}

/// Options of one embeddings call. Every setter is also available on the
/// builder [`MultiAIClient::aembed`](crate::MultiAIClient::aembed) returns;
/// the blocking [`embed_with`](crate::MultiAIClient::embed_with) takes them
/// whole.
///
/// ```
/// use std::time::Duration;
/// use llmax::{EmbeddingEncoding, EmbeddingOptions};
///
/// let options = EmbeddingOptions::new()
///     .dimensions(256)
///     .encoding(EmbeddingEncoding::Base64)
///     .tries(3)
///     .timeout(Duration::from_secs(30))
///     .extra("user", "user-42");
/// assert_eq!(options.dimensions, Some(256));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmbeddingOptions {
    /// The length of each vector, for models that can shorten theirs
    /// (OpenAI's `text-embedding-3-*`; Mistral's `output_dimension`, which
    /// the manifest renames it to). `None`: the model's own.
    pub dimensions: Option<u32>,
    /// How the vectors travel. `None`: nothing is sent, and the provider's
    /// default (`float` everywhere) applies.
    pub encoding: Option<EmbeddingEncoding>,
    /// How many attempts per request in all (1: no retry). Retried: 408,
    /// 429, 5xx, overload, connection failures and timeouts.
    pub tries: u32,
    /// The first delay between attempts; it doubles (with jitter) on each
    /// retry, unless the provider says how long to wait.
    pub delay: Duration,
    /// The time for one request: waiting for the response and reading its
    /// body; `None`: the client's default.
    pub timeout: Option<Duration>,
    /// A name for this call in usage records (default: the method name).
    pub operation: Option<String>,
    /// Who the call is for; each tag set here wins over the client's.
    pub scope: crate::usage::Scope,
    /// Any other field, passed through to the API body untouched, in the
    /// provider's own shape (it wins over the typed options if both set the
    /// same field).
    pub extra: Map<String, Value>,
    /// The most inputs sent in one request; `None`: the protocol's limit
    /// (2,048 inputs for the OpenAI protocol, and at most 300,000 bytes of
    /// text, so that no request goes over OpenAI's 300,000 tokens). Lower it
    /// for a server with a smaller limit; it is never raised above the
    /// protocol's.
    pub batch_size: Option<usize>,
    /// How many requests of one call are in flight at once, when the inputs
    /// take more than one (at least 1; default
    /// [`DEFAULT_EMBEDDING_CONCURRENCY`]).
    pub concurrency: usize,
}

impl Default for EmbeddingOptions {
    fn default() -> EmbeddingOptions {
        EmbeddingOptions {
            dimensions: None,
            encoding: None,
            tries: 1,
            delay: Duration::ZERO,
            timeout: None,
            operation: None,
            scope: crate::usage::Scope::new(),
            extra: Map::new(),
            batch_size: None,
            concurrency: DEFAULT_EMBEDDING_CONCURRENCY,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $value:expr;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, $name: $ty) -> Self {
                self.$name = $value;
                self
            }
        )*
    };
}

impl EmbeddingOptions {
    /// Default options: one try, the model's dimensions, the provider's
    /// encoding.
    pub fn new() -> EmbeddingOptions {
        EmbeddingOptions::default()
    }

    setters! {
        /// Sets the length of each vector.
        dimensions: u32 => Some(dimensions);
        /// Sets how the vectors travel.
        encoding: EmbeddingEncoding => Some(encoding);
        /// Sets the number of attempts per request (at least 1).
        tries: u32 => tries.max(1);
        /// Sets the first delay between attempts.
        delay: Duration => delay;
        /// Sets the time for one request.
        timeout: Duration => Some(timeout);
        /// Names the call in usage records.
        operation: impl Into<String> => Some(operation.into());
        /// Sets the most inputs sent in one request (at least 1).
        batch_size: usize => Some(batch_size.max(1));
        /// Sets how many requests are in flight at once (at least 1).
        concurrency: usize => concurrency.max(1);
    }

    /// Adds a field passed through to the API body untouched.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    crate::options::per_call_options!();
}
