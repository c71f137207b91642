//! The model catalog: static data generated at compile time from a manifest.
//!
//! `llmax-macros` reads `providers.toml` and emits, for every provider, a
//! [`ProviderSpec`] and, for every model, a [`ModelInfo`], gathered in a
//! [`Catalog`]. The typed [`Model`](crate::Model) and
//! [`Provider`](crate::Provider) enums index into that data. Nothing here is
//! parsed at run time: every value is a `'static` constant.
//!
//! A crate with its own manifest gets its own catalog, enums and all, from
//! [`manifest!`](crate::manifest); the runtime only ever sees the types of
//! this module, so a custom catalog works with the same client.

use std::fmt;

/// The wire protocol a provider speaks. Providers are data; protocols are code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OpenAI chat completions (`POST {base}/chat/completions`), spoken by
    /// OpenAI, Azure OpenAI, Mistral, Scaleway, OpenRouter, vLLM, Ollama...
    OpenAi,
    /// Anthropic Messages (`POST {base}/v1/messages`).
    Anthropic,
    /// Google Gemini's native API (`POST {base}/models/{model}:generateContent`),
    /// spoken by the Gemini API and Vertex AI.
    Gemini,
    /// The in-process mock provider: no network, deterministic replies.
    Mock,
}

impl Protocol {
    /// The name used in the manifest (`"openai"`, `"anthropic"`, `"gemini"`, `"mock"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
            Protocol::Gemini => "gemini",
            Protocol::Mock => "mock",
        }
    }
}

/// How a provider expects the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// Azure OpenAI's `api-key: <key>` header.
    ApiKeyHeader,
    /// Anthropic's `x-api-key: <key>` header.
    XApiKey,
    /// Google's `x-goog-api-key: <key>` header (the Gemini API).
    XGoogApiKey,
    /// No authentication (local servers, the mock provider).
    None,
}

/// Declarative request rewrites for a provider (or one model on a provider),
/// applied to the JSON body just before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// Top-level body fields renamed, `(from, to)`: Mistral takes
    /// `max_tokens`, not `max_completion_tokens`.
    pub rename: &'static [(&'static str, &'static str)],
    /// Top-level body fields the provider rejects, removed before sending
    /// (for example `stream_options`).
    pub drop: &'static [&'static str],
    /// `response_format: {"type": "json_object"}` is rewritten to a
    /// permissive `json_schema` (Scaleway's Qwen models).
    pub json_object_as_json_schema: bool,
}

impl Quirks {
    /// No rewrites.
    pub const NONE: Quirks = Quirks {
        rename: &[],
        drop: &[],
        json_object_as_json_schema: false,
    };

    /// Whether there is nothing to rewrite.
    pub fn is_empty(&self) -> bool {
        self.rename.is_empty() && self.drop.is_empty() && !self.json_object_as_json_schema
    }
}

/// Everything the runtime needs to know to talk to a provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderSpec {
    /// Manifest name, e.g. `"azure"`.
    pub name: &'static str,
    /// One line on what the provider is.
    pub description: &'static str,
    /// The wire protocol.
    pub protocol: Protocol,
    /// Base-URL templates over deployment fields (`{endpoint}`,
    /// `{deployment_name}`, `{api_version}`, `{project_id}`, `{region}`). The
    /// first template whose fields are all set on the deployment is used; the
    /// protocol appends its own path (`/chat/completions`, `/v1/messages`).
    pub base_urls: &'static [&'static str],
    /// Query parameters, `(name, value template)`, e.g. Azure's
    /// `("api-version", "{api_version}")`.
    pub query: &'static [(&'static str, &'static str)],
    /// How the API key is sent.
    pub auth: Auth,
    /// Deployment fields that must be set (besides those of a base URL).
    pub required: &'static [&'static str],
    /// Default values of deployment fields, e.g. Azure's `api_version`.
    pub defaults: &'static [(&'static str, &'static str)],
    /// Extra headers sent on every request, e.g. `anthropic-version`.
    pub headers: &'static [(&'static str, &'static str)],
    /// Environment variable conventionally holding the API key.
    pub api_key_env: Option<&'static str>,
    /// Request rewrites for every model of this provider.
    pub quirks: Quirks,
    /// The provider serves any model of the catalog (self-hosted servers,
    /// the mock). Such a deployment costs nothing unless the model lists
    /// the provider with prices, or [`borrow_prices`](Self::borrow_prices).
    pub serves_any_model: bool,
    /// Price calls like the model's first listed provider (the mock
    /// provider, so that tests see realistic costs).
    pub borrow_prices: bool,
}

impl ProviderSpec {
    /// The default value the manifest gives a deployment field, if any.
    pub fn default_for(&self, field: &str) -> Option<&'static str> {
        self.defaults
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| *value)
    }
}

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelKind {
    /// Chat completions.
    Chat,
    /// Text embeddings.
    Embedding,
    /// Speech to text.
    Transcription,
    /// Image generation.
    Image,
    /// Text to speech.
    Speech,
    /// Video generation.
    Video,
}

impl ModelKind {
    /// The name used in the manifest.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModelKind::Chat => "chat",
            ModelKind::Embedding => "embedding",
            ModelKind::Transcription => "transcription",
            ModelKind::Image => "image",
            ModelKind::Speech => "speech",
            ModelKind::Video => "video",
        }
    }
}

/// What a model can do, from the manifest's `capabilities` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// Streams its answer.
    pub streaming: bool,
    /// Calls tools (functions).
    pub tools: bool,
    /// Reads images.
    pub vision: bool,
    /// Follows a JSON Schema in strict mode (`response_format: json_schema`).
    pub json_schema: bool,
    /// Has a JSON mode (`response_format: json_object`).
    pub json_object: bool,
    /// Reasons before answering (reasoning tokens).
    pub reasoning: bool,
    /// Reads audio input.
    pub audio_input: bool,
    /// Caches prompts (cached input is priced apart).
    pub prompt_caching: bool,
}

impl Capabilities {
    /// The manifest names of all capabilities, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "json_object",
        "reasoning",
        "audio_input",
        "prompt_caching",
    ];

    /// No capability.
    pub const NONE: Capabilities = Capabilities {
        streaming: false,
        tools: false,
        vision: false,
        json_schema: false,
        json_object: false,
        reasoning: false,
        audio_input: false,
        prompt_caching: false,
    };

    /// Whether the capability named as in the manifest is present; unknown
    /// names are `false`.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "streaming" => self.streaming,
            "tools" => self.tools,
            "vision" => self.vision,
            "json_schema" => self.json_schema,
            "json_object" => self.json_object,
            "reasoning" => self.reasoning,
            "audio_input" => self.audio_input,
            "prompt_caching" => self.prompt_caching,
            _ => false,
        }
    }
}

mod usd;

pub use usd::{ParseUsdError, ParseUsdErrorKind, Usd};

/// The prices of one model on one provider.
///
/// Token rates are in USD per token, which is the same number as micro-USD
/// per million tokens: `input: Usd::from_picos(2_500_000)` is $2.50 per
/// million input tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Price {
    /// Per input token not read from cache.
    pub input: Usd,
    /// Per input token read from the prompt cache (`None`: priced as input).
    pub cached_input: Option<Usd>,
    /// Per input token written to the prompt cache (`None`: priced as input).
    pub cache_write: Option<Usd>,
    /// Per output token, reasoning tokens included.
    pub output: Usd,
    /// Per minute of audio (transcription models).
    pub audio_per_minute: Option<Usd>,
    /// Per image generated, by `(size, quality, price)`: the manifest's
    /// `images` table (see [`Price::per_image`]). Empty for other models.
    pub images: &'static [(&'static str, &'static str, Usd)],
    /// Per character of input text (text-to-speech models): the manifest's
    /// `per_million_characters` in USD, so `Usd::from_picos(15_000_000)`
    /// is $15 per million characters.
    pub per_character: Option<Usd>,
}

impl Price {
    /// A free model.
    pub const FREE: Price = Price {
        input: Usd::ZERO,
        cached_input: None,
        cache_write: None,
        output: Usd::ZERO,
        audio_per_minute: None,
        images: &[],
        per_character: None,
    };

    /// The price of one image of this `size` (`"1024x1024"`) and `quality`
    /// (`"standard"`, `"hd"`, `"low"`...), from [`images`](Price::images).
    ///
    /// A size or quality left to the provider (`None`, or one the table
    /// lacks, such as `"auto"`) is priced at the highest rate that still
    /// fits what is known, so that a budget never under-counts; `None` when
    /// the model has no per-image price.
    ///
    /// ```
    /// use llmax::Provider;
    /// let price = llmax::model!("dall-e-3").price(Provider::OpenAi).unwrap();
    /// assert_eq!(price.per_image(Some("1024x1024"), Some("hd")), Some("0.08".parse()?));
    /// // Quality unknown: the dearest at that size.
    /// assert_eq!(price.per_image(Some("1024x1024"), None), Some("0.08".parse()?));
    /// # Ok::<(), llmax::ParseUsdError>(())
    /// ```
    pub fn per_image(&self, size: Option<&str>, quality: Option<&str>) -> Option<Usd> {
        let exact = |want: Option<&str>, have: &str| want.is_none_or(|want| want == have);
        let dearest = |size: Option<&str>, quality: Option<&str>| {
            self.images
                .iter()
                .filter(|(s, q, _)| exact(size, s) && exact(quality, q))
                .map(|(_, _, rate)| *rate)
                .max()
        };
        dearest(size, quality)
            .or_else(|| dearest(size, None))
            .or_else(|| dearest(None, quality))
            .or_else(|| dearest(None, None))
    }
}

/// One provider serving one model: the name it goes by there, its prices
/// and any model-specific quirks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Offer {
    /// Manifest name of the provider.
    pub provider: &'static str,
    /// The model name sent on the wire (e.g. `"llama-3.3-70b-instruct"` for
    /// `scaleway/llama-3.3-70b-instruct`), unless the deployment names one.
    pub api_name: &'static str,
    /// Prices on this provider.
    pub price: Price,
    /// Rewrites for this model on this provider, on top of the provider's.
    pub quirks: Quirks,
}

/// Everything the catalog knows about a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInfo {
    /// Manifest name, e.g. `"gpt-4o"` or `"scaleway/llama-3.3-70b-instruct"`.
    pub name: &'static str,
    /// One line on the model.
    pub description: &'static str,
    /// What the model is for.
    pub kind: ModelKind,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Context window in tokens, where known.
    pub context_window: Option<u32>,
    /// Maximum output tokens, where known (Anthropic's default `max_tokens`).
    pub max_output_tokens: Option<u32>,
    /// The providers serving it, in manifest order.
    pub offers: &'static [Offer],
}

impl ModelInfo {
    /// The offer of the named provider, if it lists this model.
    pub fn offer(&self, provider: &str) -> Option<&'static Offer> {
        self.offers.iter().find(|offer| offer.provider == provider)
    }

    /// The price of this model on `provider`, or `None` if the provider does
    /// not serve it.
    ///
    /// A provider that lists the model uses its own prices; one that serves
    /// any model is free, unless it borrows the prices of the model's first
    /// listed provider (the mock provider does).
    pub fn price_on(&self, provider: &ProviderSpec) -> Option<Price> {
        if let Some(offer) = self.offer(provider.name) {
            return Some(offer.price);
        }
        if !provider.serves_any_model {
            return None;
        }
        if provider.borrow_prices {
            return Some(self.offers.first().map_or(Price::FREE, |offer| offer.price));
        }
        Some(Price::FREE)
    }

    /// Whether `provider` serves this model.
    pub fn served_by(&self, provider: &ProviderSpec) -> bool {
        self.price_on(provider).is_some()
    }
}

/// A whole catalog: every provider and model of one manifest.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    /// Every provider, in manifest order.
    pub providers: &'static [ProviderSpec],
    /// Every model, in manifest order.
    pub models: &'static [ModelInfo],
}

impl Catalog {
    /// The model of that manifest name.
    pub fn model(&self, name: &str) -> Result<&'static ModelInfo, UnknownName> {
        self.models
            .iter()
            .find(|model| model.name == name)
            .ok_or_else(|| UnknownName::new("model", name, self.models.iter().map(|m| m.name)))
    }

    /// The provider of that manifest name.
    pub fn provider(&self, name: &str) -> Result<&'static ProviderSpec, UnknownName> {
        self.providers
            .iter()
            .find(|provider| provider.name == name)
            .ok_or_else(|| {
                UnknownName::new("provider", name, self.providers.iter().map(|p| p.name))
            })
    }
}

/// A typed model of a catalog: implemented by every generated `Model` enum.
pub trait ModelId: Copy + Send + Sync + 'static {
    /// The catalog data of this model.
    fn info(self) -> &'static ModelInfo;
}

/// A typed provider of a catalog: implemented by every generated `Provider` enum.
pub trait ProviderId: Copy + Send + Sync + 'static {
    /// The catalog data of this provider.
    fn spec(self) -> &'static ProviderSpec;
}

impl ModelId for &'static ModelInfo {
    fn info(self) -> &'static ModelInfo {
        self
    }
}

impl ProviderId for &'static ProviderSpec {
    fn spec(self) -> &'static ProviderSpec {
        self
    }
}

/// A name that is not in the catalog, with the closest known name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// `"model"` or `"provider"`.
    pub kind: &'static str,
    /// The name that was asked for.
    pub name: String,
    /// The closest known name, if one is close enough.
    pub suggestion: Option<&'static str>,
}

impl UnknownName {
    /// An unknown `kind` named `name`, suggesting the closest of `known`.
    pub fn new(
        kind: &'static str,
        name: &str,
        known: impl IntoIterator<Item = &'static str>,
    ) -> UnknownName {
        UnknownName {
            kind,
            name: name.to_owned(),
            suggestion: closest(name, known),
        }
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.name)?;
        if let Some(suggestion) = self.suggestion {
            write!(f, "; did you mean `{suggestion}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

/// The closest of `known` to `name`, if it is close enough to be a typo.
///
/// The proc-macro crate applies the same rule at compile time, so a runtime
/// `"gpt-4oo".parse::<Model>()` and a compile-time `model!("gpt-4oo")`
/// suggest the same name. Internal: callers see it through
/// [`UnknownName::suggestion`].
pub(crate) fn closest(
    name: &str,
    known: impl IntoIterator<Item = &'static str>,
) -> Option<&'static str> {
    known
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_displays_exact_decimals() {
        assert_eq!(Usd::from_picos(0).to_string(), "$0");
        assert_eq!(Usd::from_picos(2_500_000_000_000).to_string(), "$2.5");
        assert_eq!(Usd::from_picos(27_500_000).to_string(), "$0.0000275");
    }

    #[test]
    fn usd_parses_exactly_or_not_at_all() {
        let parsed = |text: &str| text.parse::<Usd>();
        let kind = |text: &str| *parsed(text).unwrap_err().kind();
        assert_eq!(parsed("0"), Ok(Usd::ZERO));
        assert_eq!(parsed("10"), Ok(Usd::dollars(10)));
        assert_eq!(parsed("$10.50"), Ok(Usd::from_picos(10_500_000_000_000)));
        assert_eq!(parsed("0.000000000001"), Ok(Usd::from_picos(1)));
        assert_eq!(
            parsed("0.25000000000000000"),
            Ok(Usd::from_picos(250_000_000_000))
        );
        assert_eq!(parsed("18446744.073709551615"), Ok(Usd::MAX));
        assert_eq!(kind("18446744.073709551616"), ParseUsdErrorKind::TooLarge);
        assert_eq!(kind("99999999999999999999999"), ParseUsdErrorKind::TooLarge);
        assert_eq!(kind("0.0000000000001"), ParseUsdErrorKind::TooPrecise);
        assert_eq!(kind("0.1234567890129"), ParseUsdErrorKind::TooPrecise);
        for empty in ["", "$"] {
            assert_eq!(kind(empty), ParseUsdErrorKind::Empty, "{empty:?}");
        }
        for bad in [
            "-1", "+1", "1e3", " 1", "1 ", "1,000", ".5", "5.", "1.2.3", "$$1", "USD 1", "١",
            "NaN", "inf",
        ] {
            assert_eq!(kind(bad), ParseUsdErrorKind::InvalidDigit, "{bad:?}");
        }
        assert_eq!(
            parsed("0.1x").unwrap_err().to_string(),
            "\"0.1x\" is not an amount of USD: it is not a decimal number of dollars (digits, \
             one `.`, an optional `$` first)"
        );
    }

    #[test]
    fn usd_display_parses_back() {
        for picos in [
            0,
            1,
            27_500_000,
            2_500_000_000_000,
            10_000_000_000_001,
            u64::MAX,
        ] {
            let usd = Usd::from_picos(picos);
            assert_eq!(usd.to_string().parse::<Usd>(), Ok(usd));
        }
    }

    #[test]
    fn usd_dollars_saturate() {
        assert_eq!(Usd::dollars(0), Usd::ZERO);
        assert_eq!(Usd::dollars(3).picos(), 3_000_000_000_000);
        assert_eq!(
            Usd::dollars(18_446_744),
            Usd::from_picos(18_446_744_000_000_000_000)
        );
        assert_eq!(Usd::dollars(18_446_745), Usd::MAX);
    }

    #[test]
    fn closest_suggests_typos_only() {
        let known = ["gpt-4o", "gpt-4o-mini", "claude-4.5-sonnet"];
        assert_eq!(closest("gpt-4oo", known), Some("gpt-4o"));
        assert_eq!(closest("zzzzzz", known), None);
    }
}
