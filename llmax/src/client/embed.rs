//! Embeddings calls: [`MultiAIClient::aembed`] and its builder [`Embed`],
//! and the blocking twins. Each batch of inputs is one request built by the
//! deployment's protocol and sent through the engine.

use std::future::IntoFuture;
use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use serde_json::Value;

use super::MultiAIClient;
use crate::catalog::{ModelId, ModelInfo, Usd};
use crate::embeddings::{EmbedInputs, EmbeddingEncoding, EmbeddingOptions, EmbeddingResponse};
use crate::engine::{Decoded, Exchange, Target};
use crate::error::{Error, Result};
use crate::protocol::Operation;
use crate::protocol::openai::embeddings::Parsed;
use crate::response::Usage;
use crate::transport::RequestBody;
use crate::transport::http::Http;

impl MultiAIClient {
    /// Embeds texts: one vector per input, in input order. Set options on
    /// the returned builder ([`dimensions`](Embed::dimensions),
    /// [`encoding`](Embed::encoding), retries...), then `.await` it.
    ///
    /// Inputs are strings by reference (`&["a", "b"]`, `&[String]`...) or
    /// an owned `Vec<String>` (see [`EmbedInputs`]). An empty list is
    /// [`Error::InvalidRequest`], and a model that is not an embedding model
    /// too, both before anything is sent.
    ///
    /// More inputs than the provider takes in one request (2,048 for the
    /// OpenAI protocol, or 300,000 bytes of text) are split into batches,
    /// sent a few at a time ([`concurrency`](Embed::concurrency)), and merged
    /// back in order. Each request is one exchange with the provider, with
    /// its own retries, budget check and usage record (so a batched call
    /// reports one [`UsageRecord`](crate::UsageRecord) per request); the
    /// response's `usage` and `cost` are their sums. If a batch fails, no
    /// batch is started after it, those in flight finish (and are accounted),
    /// and the call returns the first error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Deployment, EmbeddingEncoding, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("text-embedding-3-small");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// let e = client
    ///     .aembed(&["hello", "world"], model)
    ///     .dimensions(256)
    ///     .encoding(EmbeddingEncoding::Base64)
    ///     .await?;
    /// assert_eq!(e.embeddings.len(), 2);
    /// assert_eq!(e.embeddings[1].len(), 256);
    /// # Ok(()) }
    /// ```
    pub fn aembed(&self, inputs: impl EmbedInputs, model: impl ModelId) -> Embed<'_> {
        Embed {
            client: self,
            inputs: inputs.into_inputs(),
            model: model.info(),
            options: EmbeddingOptions::default(),
        }
    }

    /// Blocking [`aembed`](Self::aembed), with default options.
    ///
    /// Works without an async runtime (llmax keeps one worker thread for all
    /// blocking calls of a client); inside one it returns
    /// [`Error::BlockingInRuntime`] instead of blocking a worker.
    ///
    /// ```
    /// use llmax::{Deployment, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("text-embedding-3-small");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// let e = client.embed(&["hello"], model)?;
    /// assert_eq!(e.embeddings.len(), 1);
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn embed(
        &self,
        inputs: impl EmbedInputs,
        model: impl ModelId,
    ) -> Result<EmbeddingResponse> {
        self.embed_with(inputs, model, EmbeddingOptions::default())
    }

    /// Blocking [`aembed`](Self::aembed) with options.
    ///
    /// ```
    /// use llmax::{Deployment, EmbeddingOptions, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("text-embedding-3-small");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// let e = client.embed_with(&["hello"], model, EmbeddingOptions::new().dimensions(8))?;
    /// assert_eq!(e.embeddings[0].len(), 8);
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn embed_with(
        &self,
        inputs: impl EmbedInputs,
        model: impl ModelId,
        options: EmbeddingOptions,
    ) -> Result<EmbeddingResponse> {
        let inputs = inputs.into_inputs();
        let model = model.info();
        self.block_on("embed", |http| async move {
            self.embeddings(http, &inputs, model, &options, "embed")
                .await
        })
    }

    /// One embeddings call: its inputs in batches, each one request through
    /// the engine, merged in order.
    async fn embeddings(
        &self,
        http: &Http,
        inputs: &[String],
        model: &'static ModelInfo,
        options: &EmbeddingOptions,
        name: &'static str,
    ) -> Result<EmbeddingResponse> {
        let target = self.target(model, Operation::Embeddings)?;
        if inputs.is_empty() {
            return Err(Error::InvalidRequest {
                model: model.name,
                message: "no inputs to embed".to_owned(),
            });
        }
        let call = options.call_options();
        let engine = &self.inner.engine;
        let send = |range: Range<usize>| {
            let call = &call;
            async move {
                let batch = &inputs[range];
                // Never another model: its vectors would not compare with
                // this one's. The model's own deployments only.
                let route = self.route(model, Operation::Embeddings, Some(&[]))?;
                let body = |target: &Target| {
                    let body = target
                        .adapter
                        .embeddings_body(&target.resolved, batch, options)?;
                    Ok(RequestBody::Json(Bytes::from(body)))
                };
                let exchange = Exchange {
                    route,
                    operation: Operation::Embeddings,
                    body: &body,
                    options: call,
                    name,
                    prompt: None,
                };
                engine
                    .whole(http, exchange, |target, body| {
                        let parsed = target.adapter.embeddings_parse(
                            target.resolved.provider.name,
                            body,
                            batch.len(),
                        )?;
                        let usage = parsed.usage;
                        Ok((parsed, usage))
                    })
                    .await
            }
        };
        let batches = target
            .adapter
            .embedding_batches(inputs, options.batch_size.unwrap_or(usize::MAX));
        let decoded = match <[Range<usize>; 1]>::try_from(batches) {
            // One request, the usual case: no batching machinery.
            Ok([all]) => vec![send(all).await?],
            Err(batches) => in_order(batches, options.concurrency, send).await?,
        };
        let requests = decoded.len();
        let mut response = EmbeddingResponse {
            embeddings: Vec::new(),
            model: String::new(),
            catalog_model: model.name,
            provider: decoded.first().map_or(target.resolved.provider.name, |d| {
                d.target.resolved.provider.name
            }),
            usage: Usage::default(),
            cost: Usd::ZERO,
            latency: Duration::ZERO,
            requests,
        };
        for decoded in decoded {
            let parsed = decoded.value;
            if response.embeddings.is_empty() {
                // The first batch's vectors are moved, not copied; the
                // others are appended to them.
                response.embeddings = parsed.embeddings;
                response
                    .embeddings
                    .reserve(inputs.len() - response.embeddings.len());
                response.model = parsed.model;
            } else {
                response.embeddings.extend(parsed.embeddings);
            }
            response.usage = response.usage + decoded.usage;
            response.cost += decoded.cost;
            response.latency += decoded.latency;
        }
        Ok(response)
    }
}

/// Runs `send` over the batches, at most `concurrency` at a time, and gives
/// their results in batch order. After a failure no batch is started, but
/// those in flight run to their end, so that each request that reached the
/// provider is accounted (dropping one midway would lose its record); the
/// first failure in batch order is returned.
async fn in_order<'a, F, Fut>(
    batches: Vec<Range<usize>>,
    concurrency: usize,
    send: F,
) -> Result<Vec<Decoded<'a, Parsed>>>
where
    F: Fn(Range<usize>) -> Fut,
    Fut: Future<Output = Result<Decoded<'a, Parsed>>>,
{
    let mut done = Vec::with_capacity(batches.len());
    let mut pending = batches.into_iter();
    let mut running = FuturesOrdered::new();
    let mut failed: Option<Error> = None;
    loop {
        while failed.is_none() && running.len() < concurrency.max(1) {
            match pending.next() {
                Some(range) => running.push_back(send(range)),
                None => break,
            }
        }
        match running.next().await {
            Some(Ok(decoded)) => done.push(decoded),
            Some(Err(error)) => {
                failed.get_or_insert(error);
            }
            None => break,
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(done),
    }
}

/// An embeddings call being set up: set options, then `.await` it.
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use std::time::Duration;
/// use llmax::EmbeddingEncoding;
///
/// let chunks: Vec<String> = vec!["first chunk".into(), "second chunk".into()];
/// let e = client
///     .aembed(&chunks, llmax::model!("text-embedding-3-large"))
///     .dimensions(1024)
///     .encoding(EmbeddingEncoding::Base64)
///     .tries(3)
///     .timeout(Duration::from_secs(60))
///     .operation("index documents")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Embed<'a> {
    client: &'a MultiAIClient,
    inputs: Vec<String>,
    model: &'static ModelInfo,
    options: EmbeddingOptions,
}

impl std::fmt::Debug for Embed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embed")
            .field("model", &self.model.name)
            .field("inputs", &self.inputs.len())
            .field("options", &self.options)
            .finish()
    }
}

macro_rules! delegate {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.options = self.options.$name($($arg),*);
                self
            }
        )*
    };
}

impl Embed<'_> {
    /// Replaces all options at once.
    pub fn options(mut self, options: EmbeddingOptions) -> Self {
        self.options = options;
        self
    }

    delegate! {
        /// The length of each vector (OpenAI's `text-embedding-3-*` and
        /// later; Mistral's `output_dimension`).
        dimensions(dimensions: u32);
        /// How the vectors travel (they arrive as `f32` either way).
        encoding(encoding: EmbeddingEncoding);
        /// How many attempts per request in all (retries on 408, 429, 5xx,
        /// connection errors).
        tries(tries: u32);
        /// The first delay between attempts.
        delay(delay: Duration);
        /// Time for one request: waiting for the response, and reading its
        /// body.
        timeout(timeout: Duration);
        /// Names the call in usage records.
        operation(operation: impl Into<String>);
        /// Tags the call with a user (over the client's scope).
        user(user: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a tenant (over the client's scope).
        tenant(tenant: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a project (over the client's scope).
        project(project: impl Into<std::sync::Arc<str>>);
        /// The most inputs sent in one request (never above the protocol's
        /// limit).
        batch_size(batch_size: usize);
        /// How many requests are in flight at once when the inputs take
        /// more than one.
        concurrency(concurrency: usize);
        /// Any other API field, passed through to the body untouched, in the
        /// provider's own shape.
        extra(key: impl Into<String>, value: impl Into<Value>);
    }
}

impl<'a> IntoFuture for Embed<'a> {
    type Output = Result<EmbeddingResponse>;
    type IntoFuture = BoxFuture<'a, Result<EmbeddingResponse>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .embeddings(http, &self.inputs, self.model, &self.options, "aembed")
                .await
        })
    }
}
