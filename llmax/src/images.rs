//! Image generation: what
//! [`MultiAIClient::atext_to_image`](crate::MultiAIClient::atext_to_image)
//! takes and returns.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Usd;
use crate::response::Usage;

/// One generated image: its bytes (sent as base64 and decoded) or the URL
/// the provider put it at (`dall-e-*` with [`ImageResponse::Url`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, MultiAIClient, Provider};
///
/// let model = llmax::model!("gpt-image-1");
/// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
/// let i = client.atext_to_image("a lighthouse at dawn", model).await?;
/// assert!(i.images[0].bytes.as_ref().unwrap().starts_with(b"\x89PNG"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GeneratedImage {
    /// The image file (PNG, JPEG or WebP as asked), when sent inline.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
    /// Where the provider put the image (valid for a limited time).
    pub url: Option<String>,
    /// The prompt as the model rewrote it (`dall-e-3`).
    pub revised_prompt: Option<String>,
}

/// The images of one call, with what it used and cost.
///
/// `#[non_exhaustive]`: only llmax builds one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, MultiAIClient, Provider};
///
/// let model = llmax::model!("dall-e-3");
/// let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;
/// let i = client.atext_to_image("a lighthouse", model).size("1024x1024").quality("hd").await?;
/// assert_eq!(i.cost, llmax::Usd::from_picos(80_000_000_000)); // $0.08
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ImageGeneration {
    /// The images, in the provider's order.
    pub images: Vec<GeneratedImage>,
    /// The catalog model that was called.
    pub catalog_model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
    /// Tokens (gpt-image-*), or the images billed per image.
    pub usage: Usage,
    /// What the call cost: per token when the reply counts tokens, else per
    /// image by size and quality from the catalog.
    pub cost: Usd,
    /// From sending the request (its last attempt) to reading its body.
    pub latency: Duration,
}

/// The file format of the images (`output_format`, gpt-image-*).
///
/// ```
/// use llmax::{ImageFormat, ImageOptions};
/// assert_eq!(ImageOptions::new().format(ImageFormat::Webp).format, Some(ImageFormat::Webp));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// `png`.
    Png,
    /// `jpeg`.
    Jpeg,
    /// `webp`.
    Webp,
}

impl ImageFormat {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Webp => "webp",
        }
    }
}

/// How `dall-e-*` sends the images (`response_format`); gpt-image-* always
/// sends bytes.
///
/// ```
/// use llmax::{ImageOptions, ImageResponse};
/// assert_eq!(ImageOptions::new().response(ImageResponse::Url).response, Some(ImageResponse::Url));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageResponse {
    /// Inline, as base64 (`b64_json`), decoded into [`GeneratedImage::bytes`].
    Bytes,
    /// A URL ([`GeneratedImage::url`]).
    Url,
}

impl ImageResponse {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ImageResponse::Bytes => "b64_json",
            ImageResponse::Url => "url",
        }
    }
}

/// Options of one image generation call; every setter is also on the
/// builder [`atext_to_image`](crate::MultiAIClient::atext_to_image) returns.
///
/// ```
/// use llmax::{ImageOptions, ImageFormat};
///
/// let options = ImageOptions::new().size("1024x1536").quality("high").count(2).format(ImageFormat::Jpeg);
/// assert_eq!(options.count, Some(2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageOptions {
    /// `WIDTHxHEIGHT` (`"1024x1024"`), or `"auto"`; `None`: the provider's.
    pub size: Option<String>,
    /// `standard`/`hd` (dall-e-3), `low`/`medium`/`high` (gpt-image-1).
    pub quality: Option<String>,
    /// How many images (`n`, 1 to 10).
    pub count: Option<u32>,
    /// The file format (gpt-image-*).
    pub format: Option<ImageFormat>,
    /// Bytes or URL (dall-e-*).
    pub response: Option<ImageResponse>,
    /// Attempts in all (1: no retry).
    pub tries: u32,
    /// The first delay between attempts.
    pub delay: Duration,
    /// Time for the request; `None`: the client's default.
    pub timeout: Option<Duration>,
    /// A name for the call in usage records.
    pub operation: Option<String>,
    /// Who the call is for; each tag set here wins over the client's.
    pub scope: crate::usage::Scope,
    /// Other API fields, passed through untouched (they win over the typed
    /// options).
    pub extra: Map<String, Value>,
}

impl Default for ImageOptions {
    fn default() -> ImageOptions {
        ImageOptions {
            size: None,
            quality: None,
            count: None,
            format: None,
            response: None,
            tries: 1,
            delay: Duration::ZERO,
            timeout: None,
            operation: None,
            scope: crate::usage::Scope::new(),
            extra: Map::new(),
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

impl ImageOptions {
    /// Default options: one try, the provider's size, quality and format.
    pub fn new() -> ImageOptions {
        ImageOptions::default()
    }

    setters! {
        /// Sets the size (`"1024x1024"`).
        size: impl Into<String> => Some(size.into());
        /// Sets the quality (`"hd"`, `"high"`...).
        quality: impl Into<String> => Some(quality.into());
        /// Sets how many images (1 to 10).
        count: u32 => Some(count);
        /// Sets the file format.
        format: ImageFormat => Some(format);
        /// Sets bytes or URL.
        response: ImageResponse => Some(response);
        /// Sets the number of attempts (at least 1).
        tries: u32 => tries.max(1);
        /// Sets the first delay between attempts.
        delay: Duration => delay;
        /// Sets the time for the request.
        timeout: Duration => Some(timeout);
        /// Names the call in usage records.
        operation: impl Into<String> => Some(operation.into());
    }

    /// Adds a field passed through to the API body untouched.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    crate::options::per_call_options!();
}
