//! Image generation: [`MultiAIClient::atext_to_image`] and its builder
//! [`TextToImage`], and the blocking twins. One request through the engine.

use std::future::IntoFuture;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::MultiAIClient;
use crate::catalog::{ModelId, ModelInfo};
use crate::engine::{Exchange, Target};
use crate::error::Result;
use crate::images::{ImageFormat, ImageGeneration, ImageOptions, ImageResponse};
use crate::protocol::Operation;
use crate::transport::RequestBody;
use crate::transport::http::Http;

impl MultiAIClient {
    /// Generates images from a prompt. Set options on the returned builder
    /// ([`size`](TextToImage::size), [`quality`](TextToImage::quality),
    /// [`count`](TextToImage::count)...), then `.await` it.
    ///
    /// A model that is not an image model, or a count outside 1 to 10, is
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) before
    /// anything is sent. The cost is per token when the reply counts tokens
    /// (gpt-image-*), else per image from the catalog by size and quality
    /// ([`Price::per_image`](crate::Price::per_image)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Deployment, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("gpt-image-1");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// let i = client.atext_to_image("a lighthouse at dawn", model).count(2).await?;
    /// assert_eq!(i.images.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn atext_to_image(
        &self,
        prompt: impl Into<String>,
        model: impl ModelId,
    ) -> TextToImage<'_> {
        TextToImage {
            client: self,
            prompt: prompt.into(),
            model: model.info(),
            options: ImageOptions::default(),
        }
    }

    /// Blocking [`atext_to_image`](Self::atext_to_image), with default
    /// options.
    ///
    /// ```
    /// use llmax::{Deployment, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("dall-e-3");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// assert_eq!(client.text_to_image("a lighthouse", model)?.images.len(), 1);
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn text_to_image(&self, prompt: &str, model: impl ModelId) -> Result<ImageGeneration> {
        self.text_to_image_with(prompt, model, ImageOptions::default())
    }

    /// Blocking [`atext_to_image`](Self::atext_to_image) with options.
    ///
    /// ```
    /// use llmax::{Deployment, ImageOptions, MultiAIClient, Provider};
    ///
    /// let model = llmax::model!("dall-e-3");
    /// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
    /// let i = client.text_to_image_with("a lighthouse", model, ImageOptions::new().count(2))?;
    /// assert_eq!(i.images.len(), 2);
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn text_to_image_with(
        &self,
        prompt: &str,
        model: impl ModelId,
        options: ImageOptions,
    ) -> Result<ImageGeneration> {
        let model = model.info();
        self.block_on("text_to_image", |http| async move {
            self.images(http, prompt, model, &options, "text_to_image")
                .await
        })
    }

    async fn images(
        &self,
        http: &Http,
        prompt: &str,
        model: &'static ModelInfo,
        options: &ImageOptions,
        name: &'static str,
    ) -> Result<ImageGeneration> {
        let call = options.call_options();
        let route = self.route(model, Operation::Images, call.fallback.as_deref())?;
        let body = |target: &Target| {
            let body = crate::protocol::openai::images::body(&target.resolved, prompt, options)?;
            Ok(RequestBody::Json(Bytes::from(body)))
        };
        let exchange = Exchange {
            route,
            operation: Operation::Images,
            body: &body,
            options: &call,
            name,
            prompt: None,
        };
        let decoded = self
            .inner
            .engine
            .whole(http, exchange, |target, body| {
                let provider = target.resolved.provider.name;
                let parsed = crate::protocol::openai::images::parse(provider, body)?;
                let mut usage = parsed.usage;
                if usage.is_empty() {
                    // No token counts (dall-e-*): billed per image, at the
                    // size and quality the reply or the request names.
                    let size = parsed.size.as_deref().or(options.size.as_deref());
                    let quality = parsed.quality.as_deref().or(options.quality.as_deref());
                    if let Some(rate) = target.resolved.price.per_image(size, quality) {
                        usage = usage.with_images(parsed.images.len() as u64, rate);
                    }
                }
                Ok((parsed.images, usage))
            })
            .await?;
        let provider = decoded.target.resolved.provider.name;
        let model = decoded.target.resolved.model;
        Ok(ImageGeneration {
            images: decoded.value,
            catalog_model: model.name,
            provider,
            usage: decoded.usage,
            cost: decoded.cost,
            latency: decoded.latency,
        })
    }
}

/// An image generation being set up: set options, then `.await` it.
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use llmax::{ImageFormat, ImageResponse};
///
/// let i = client
///     .atext_to_image("a lighthouse at dawn", llmax::model!("dall-e-3"))
///     .size("1792x1024")
///     .quality("hd")
///     .response(ImageResponse::Url)
///     .tries(3)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct TextToImage<'a> {
    client: &'a MultiAIClient,
    prompt: String,
    model: &'static ModelInfo,
    options: ImageOptions,
}

impl std::fmt::Debug for TextToImage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextToImage")
            .field("model", &self.model.name)
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

impl TextToImage<'_> {
    /// Replaces all options at once.
    pub fn options(mut self, options: ImageOptions) -> Self {
        self.options = options;
        self
    }

    delegate! {
        /// The size, `WIDTHxHEIGHT` (`"1024x1024"`) or `"auto"`.
        size(size: impl Into<String>);
        /// The quality: `standard`/`hd` (dall-e-3), `low`/`medium`/`high`
        /// (gpt-image-1).
        quality(quality: impl Into<String>);
        /// How many images (`n`, 1 to 10).
        count(count: u32);
        /// The file format (`output_format`, gpt-image-*).
        format(format: ImageFormat);
        /// Bytes or URL (`response_format`, dall-e-*).
        response(response: ImageResponse);
        /// Attempts in all (retries on 408, 429, 5xx, connection errors).
        tries(tries: u32);
        /// The first delay between attempts.
        delay(delay: Duration);
        /// Time for the request.
        timeout(timeout: Duration);
        /// Names the call in usage records.
        operation(operation: impl Into<String>);
        /// Tags the call with a user (over the client's scope).
        user(user: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a tenant (over the client's scope).
        tenant(tenant: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a project (over the client's scope).
        project(project: impl Into<std::sync::Arc<str>>);
        /// Any other API field, passed through untouched.
        extra(key: impl Into<String>, value: impl Into<Value>);
    }
}

impl<'a> IntoFuture for TextToImage<'a> {
    type Output = Result<ImageGeneration>;
    type IntoFuture = BoxFuture<'a, Result<ImageGeneration>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .images(
                    http,
                    &self.prompt,
                    self.model,
                    &self.options,
                    "atext_to_image",
                )
                .await
        })
    }
}
