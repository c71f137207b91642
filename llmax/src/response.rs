//! What calls return: whole responses, stream chunks and token usage, the
//! same for every protocol.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Price, Usd};
use crate::message::ToolCall;

/// A whole (non-streamed) chat response.
///
/// `#[non_exhaustive]`: fields will be added as providers report more;
/// only llmax builds one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The provider's response id.
    pub id: String,
    /// The model name the provider reported (may be more specific than the
    /// catalog name, e.g. `gpt-4o-2024-08-06`).
    pub model: String,
    /// The catalog model that was called.
    pub catalog_model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
    /// The choices (one unless `n` was set).
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: Usage,
    /// What the call cost, from the catalog's prices.
    pub cost: Usd,
    /// From sending the request to reading the whole body (last attempt).
    pub latency: Duration,
}

impl ChatResponse {
    /// The first choice's text, if any.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }

    /// The first choice's tool calls.
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices
            .first()
            .map_or(&[], |choice| choice.message.tool_calls.as_slice())
    }

    /// The first choice's finish reason.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first()?.finish_reason.as_ref()
    }
}

/// One choice of a response (`#[non_exhaustive]`: it will grow).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Choice {
    /// Its index.
    pub index: u32,
    /// What the model said.
    pub message: AssistantMessage,
    /// Why it stopped.
    pub finish_reason: Option<FinishReason>,
    /// How the provider rated the answer's safety (Gemini's
    /// `safetyRatings`); empty for providers that give none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub safety_ratings: Vec<SafetyRating>,
}

/// A provider's safety rating of an answer, in one harm category
/// (Gemini's `safetyRatings`). A [`FinishReason::ContentFilter`] finish
/// with a `blocked` rating says which category stopped the answer.
///
/// ```
/// # fn demo(response: llmax::ChatResponse) {
/// for rating in &response.choices[0].safety_ratings {
///     if rating.blocked {
///         eprintln!("blocked for {} ({})", rating.category, rating.probability);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SafetyRating {
    /// The harm category, as the provider names it (`HARM_CATEGORY_HARASSMENT`).
    pub category: String,
    /// How likely the content is harmful (`NEGLIGIBLE`, `LOW`, `MEDIUM`, `HIGH`).
    pub probability: String,
    /// Whether this rating blocked the content.
    pub blocked: bool,
}

/// The assistant's message in a response (`#[non_exhaustive]`: it will
/// grow; start from `AssistantMessage::default()` to build one).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The answer text.
    pub content: Option<String>,
    /// Reasoning text, kept apart from the answer (DeepSeek's
    /// `reasoning_content`, Mistral's thinking parts...).
    pub reasoning: Option<String>,
    /// A refusal message (OpenAI's `refusal`).
    pub refusal: Option<String>,
    /// Tool calls.
    pub tool_calls: Vec<ToolCall>,
}

/// Why generation stopped, the same for every protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The token limit.
    Length,
    /// The model called tools.
    ToolCalls,
    /// The content filter.
    ContentFilter,
    /// The model refused.
    Refusal,
    /// A reason llmax does not know, as the provider spelled it.
    #[serde(untagged)]
    Other(String),
}

impl FinishReason {
    /// Maps OpenAI-style and Anthropic-style reason names. Internal: the
    /// protocol adapters' reading of the wire, not an API to keep stable.
    pub(crate) fn from_wire(reason: &str) -> FinishReason {
        match reason {
            "stop" | "end_turn" | "stop_sequence" | "STOP" => FinishReason::Stop,
            "length" | "max_tokens" | "model_length" | "MAX_TOKENS" => FinishReason::Length,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            "content_filter" | "SAFETY" => FinishReason::ContentFilter,
            "refusal" => FinishReason::Refusal,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// Token counts of a call, normalised across protocols.
///
/// `input_tokens` counts every input token, cached or not (as OpenAI's
/// `prompt_tokens` does; Anthropic's counts are added up to match).
/// `output_tokens` includes `reasoning_tokens`.
///
/// `audio_duration` is the audio a provider bills by the minute
/// (transcription), apart from any tokens; `characters` the input text a
/// provider bills by the character (text to speech).
///
/// `#[non_exhaustive]`: counts will be added (images...). Build one
/// with [`Usage::new`] and the `with_*` methods:
///
/// ```
/// use llmax::Usage;
///
/// let usage = Usage::new(1_000, 200).with_cached_input_tokens(800);
/// assert_eq!(usage.input_tokens, 1_000);
/// assert_eq!(usage.cached_input_tokens, 800);
/// assert_eq!(usage.reasoning_tokens, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// All input tokens, cache reads and writes included.
    pub input_tokens: u64,
    /// All output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Output tokens spent reasoning.
    pub reasoning_tokens: u64,
    /// Audio billed by duration (speech to text with a model priced per
    /// minute); zero when the provider counted tokens instead. Priced at
    /// the model's [`audio_per_minute`](Price::audio_per_minute).
    // Usages serialized before the field existed still deserialize.
    #[serde(default)]
    pub audio_duration: Duration,
    /// Images billed per image (image generation with no token counts in
    /// the reply); zero otherwise.
    #[serde(default)]
    pub images: u64,
    /// The price of each of those [`images`](Usage::images), chosen from the
    /// catalog's [`Price::per_image`] by size and quality when the call was
    /// made. Not read back from serialized usage (it is the catalog's).
    #[serde(default, skip_deserializing)]
    pub image_price: Usd,
    /// Input characters billed by the character (text to speech), counted
    /// by llmax as Unicode scalar values; priced at the model's
    /// [`per_character`](Price::per_character).
    #[serde(default)]
    pub characters: u64,
}

impl Usage {
    /// `input_tokens` in (cached ones included) and `output_tokens` out
    /// (reasoning included); the other counts zero.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            output_tokens,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            audio_duration: Duration::ZERO,
            images: 0,
            image_price: Usd::ZERO,
            characters: 0,
        }
    }

    /// With `images` images billed at `price` each.
    ///
    /// ```
    /// use llmax::{Price, Usage, Usd};
    ///
    /// // Three dall-e-3 HD squares at $0.08.
    /// let usage = Usage::default().with_images(3, "0.08".parse()?);
    /// assert_eq!(usage.cost(&Price::FREE), "0.24".parse::<Usd>()?);
    /// # Ok::<(), llmax::ParseUsdError>(())
    /// ```
    #[must_use]
    pub const fn with_images(mut self, images: u64, price: Usd) -> Usage {
        self.images = images;
        self.image_price = price;
        self
    }

    /// With this many input tokens read from the prompt cache.
    #[must_use]
    pub const fn with_cached_input_tokens(mut self, tokens: u64) -> Usage {
        self.cached_input_tokens = tokens;
        self
    }

    /// With this many input tokens written to the prompt cache.
    #[must_use]
    pub const fn with_cache_write_tokens(mut self, tokens: u64) -> Usage {
        self.cache_write_tokens = tokens;
        self
    }

    /// With this many output tokens spent reasoning.
    #[must_use]
    pub const fn with_reasoning_tokens(mut self, tokens: u64) -> Usage {
        self.reasoning_tokens = tokens;
        self
    }

    /// With this much audio billed by duration.
    ///
    /// ```
    /// use std::time::Duration;
    /// use llmax::{Price, Usage, Usd};
    ///
    /// // Whisper: $0.006 a minute, so 90 seconds cost $0.009.
    /// let price = Price { audio_per_minute: Some("0.006".parse()?), ..Price::FREE };
    /// let usage = Usage::default().with_audio_duration(Duration::from_secs(90));
    /// assert_eq!(usage.cost(&price), "0.009".parse::<Usd>()?);
    /// # Ok::<(), llmax::ParseUsdError>(())
    /// ```
    #[must_use]
    pub const fn with_audio_duration(mut self, duration: Duration) -> Usage {
        self.audio_duration = duration;
        self
    }

    /// With this many input characters billed by the character.
    ///
    /// ```
    /// use llmax::{Price, Usage, Usd};
    ///
    /// // tts-1: $15 per million characters, so 1,000 cost $0.015.
    /// let price = Price { per_character: Some(Usd::from_picos(15_000_000)), ..Price::FREE };
    /// assert_eq!(Usage::default().with_characters(1_000).cost(&price), "0.015".parse::<Usd>()?);
    /// # Ok::<(), llmax::ParseUsdError>(())
    /// ```
    #[must_use]
    pub const fn with_characters(mut self, characters: u64) -> Usage {
        self.characters = characters;
        self
    }

    /// What this usage costs at `price`.
    ///
    /// Cached and cache-write tokens are priced apart when the price has a
    /// rate for them, as input otherwise. Audio billed by duration is priced
    /// per minute, to the nanosecond and rounded to the nearest pico-dollar
    /// (exact whenever the rate and the duration allow it: any whole
    /// millisecond at a rate of whole micro-dollars a minute); audio without
    /// a per-minute rate costs nothing. Characters are priced at the
    /// per-character rate (none: free). Exact integer pico-dollars
    /// otherwise, saturating at `u64::MAX` pico-dollars for absurd counts.
    pub fn cost(&self, price: &Price) -> Usd {
        let cached = self.cached_input_tokens.min(self.input_tokens);
        let written = self.cache_write_tokens.min(self.input_tokens - cached);
        let uncached = self.input_tokens - cached - written;
        price
            .input
            .saturating_mul(uncached)
            .saturating_add(
                price
                    .cached_input
                    .unwrap_or(price.input)
                    .saturating_mul(cached),
            )
            .saturating_add(
                price
                    .cache_write
                    .unwrap_or(price.input)
                    .saturating_mul(written),
            )
            .saturating_add(price.output.saturating_mul(self.output_tokens))
            .saturating_add(per_minute(price.audio_per_minute, self.audio_duration))
            .saturating_add(self.image_price.saturating_mul(self.images))
            .saturating_add(
                price
                    .per_character
                    .unwrap_or(Usd::ZERO)
                    .saturating_mul(self.characters),
            )
    }

    /// Whether no token was counted.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    /// Field by field, saturating at `u64::MAX`: counts come from providers,
    /// and a sum of absurd ones must not wrap to a small number (nor panic
    /// in a debug build).
    fn add(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_add(other.cached_input_tokens),
            cache_write_tokens: self
                .cache_write_tokens
                .saturating_add(other.cache_write_tokens),
            reasoning_tokens: self.reasoning_tokens.saturating_add(other.reasoning_tokens),
            audio_duration: self.audio_duration.saturating_add(other.audio_duration),
            images: self.images.saturating_add(other.images),
            // Sums mix images of one call, all at one price.
            image_price: self.image_price.max(other.image_price),
            characters: self.characters.saturating_add(other.characters),
        }
    }
}

/// `duration` at `rate` per minute: integer arithmetic on nanoseconds (the
/// product fits in a `u128` for any duration under 10^20 seconds; beyond,
/// it saturates), rounded to the nearest pico-dollar.
fn per_minute(rate: Option<Usd>, duration: Duration) -> Usd {
    const NANOS_PER_MINUTE: u128 = 60_000_000_000;
    let Some(rate) = rate else {
        return Usd::ZERO;
    };
    let product = u128::from(rate.picos()).saturating_mul(duration.as_nanos());
    let picos = product.saturating_add(NANOS_PER_MINUTE / 2) / NANOS_PER_MINUTE;
    Usd::from_picos(u64::try_from(picos).unwrap_or(u64::MAX))
}

/// One item of a stream: the same type for every protocol.
///
/// `#[non_exhaustive]`: it will grow. To build one (tests, replays), start
/// from `StreamChunk::default()` and set fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct StreamChunk {
    /// The choice this chunk belongs to.
    pub index: u32,
    /// New answer text.
    pub content: Option<String>,
    /// New reasoning text, kept apart from the answer.
    pub reasoning: Option<String>,
    /// New refusal text.
    pub refusal: Option<String>,
    /// Tool-call fragments.
    pub tool_calls: Vec<ToolCallDelta>,
    /// Set on the chunk that ends the choice.
    pub finish_reason: Option<FinishReason>,
    /// Set on the last chunk: the call's token counts.
    pub usage: Option<Usage>,
    /// Set with `usage`: what the call cost.
    pub cost: Option<Usd>,
}

impl StreamChunk {
    /// Whether the chunk carries nothing (such chunks are not yielded).
    pub fn is_empty(&self) -> bool {
        self.content.is_none()
            && self.reasoning.is_none()
            && self.refusal.is_none()
            && self.tool_calls.is_empty()
            && self.finish_reason.is_none()
            && self.usage.is_none()
    }
}

/// A fragment of a streamed tool call. Fragments with the same `index`
/// belong to the same call: the first carries `id` and `name`, and the
/// `arguments` fragments concatenate to the JSON arguments.
///
/// `#[non_exhaustive]`: it will grow. Build one with
/// [`ToolCallDelta::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// Which call of the message this fragment belongs to.
    pub index: u32,
    /// The call id (first fragment).
    pub id: Option<String>,
    /// The function name (first fragment).
    pub name: Option<String>,
    /// A piece of the JSON arguments.
    pub arguments: Option<String>,
    /// Gemini's thought signature of the call (see
    /// [`ToolCall::thought_signature`]).
    pub thought_signature: Option<String>,
}

impl ToolCallDelta {
    /// A fragment of call `index` that carries nothing yet.
    pub fn new(index: u32) -> ToolCallDelta {
        ToolCallDelta {
            index,
            ..ToolCallDelta::default()
        }
    }

    /// With the call id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> ToolCallDelta {
        self.id = Some(id.into());
        self
    }

    /// With the function name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> ToolCallDelta {
        self.name = Some(name.into());
        self
    }

    /// With a piece of the JSON arguments.
    #[must_use]
    pub fn with_arguments(mut self, arguments: impl Into<String>) -> ToolCallDelta {
        self.arguments = Some(arguments.into());
        self
    }

    /// With the call's thought signature (Gemini).
    #[must_use]
    pub fn with_thought_signature(mut self, signature: impl Into<String>) -> ToolCallDelta {
        self.thought_signature = Some(signature.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_minute(rate: &str) -> Price {
        Price {
            audio_per_minute: Some(rate.parse().unwrap()),
            ..Price::FREE
        }
    }

    #[test]
    fn audio_is_priced_per_minute_exactly() {
        let whisper = per_minute("0.006");
        let cost = |millis| {
            Usage::default()
                .with_audio_duration(Duration::from_millis(millis))
                .cost(&whisper)
        };
        assert_eq!(cost(60_000), "0.006".parse().unwrap());
        assert_eq!(cost(90_000), "0.009".parse().unwrap());
        // 8.47 s, as Whisper reports it: $0.006 × 8.47 / 60.
        assert_eq!(cost(8_470), "0.000847".parse().unwrap());
        assert_eq!(cost(1), Usd::from_picos(100_000));
        assert_eq!(cost(0), Usd::ZERO);
        // Scaleway's $0.00345 a minute over one second: 57.5 micro-dollars.
        let scaleway = per_minute("0.00345");
        let second = Usage::default().with_audio_duration(Duration::from_secs(1));
        assert_eq!(second.cost(&scaleway), "0.0000575".parse().unwrap());
    }

    #[test]
    fn characters_are_priced_per_character_and_saturate() {
        let tts = Price {
            per_character: Some(Usd::from_picos(15_000_000)),
            ..Price::FREE
        };
        let usage = Usage::default().with_characters(7);
        assert_eq!(usage.cost(&tts), Usd::from_picos(105_000_000));
        // Without a per-character rate, characters are free.
        assert_eq!(usage.cost(&Price::FREE), Usd::ZERO);
        let absurd = Usage::default().with_characters(u64::MAX);
        assert_eq!(absurd.cost(&tts), Usd::from_picos(u64::MAX));
        assert_eq!((absurd + usage).characters, u64::MAX);
    }

    #[test]
    fn audio_and_tokens_add_up_and_saturate() {
        let price = Price {
            input: Usd::from_picos(6_000_000),
            output: Usd::from_picos(10_000_000),
            ..per_minute("0.003")
        };
        let usage = Usage::new(13, 151).with_audio_duration(Duration::from_secs(36));
        // 13 × 6 + 151 × 10 micro-dollars, and 36 s at $0.003 a minute.
        let expected = Usd::from_picos(13 * 6_000_000 + 151 * 10_000_000 + 1_800_000_000);
        assert_eq!(usage.cost(&price), expected);
        // No per-minute rate: the audio is free.
        assert_eq!(
            Usage::default()
                .with_audio_duration(Duration::from_secs(3600))
                .cost(&Price::FREE),
            Usd::ZERO
        );
        let forever = Usage::default().with_audio_duration(Duration::MAX);
        assert_eq!(forever.cost(&per_minute("1")), Usd::MAX);
        assert_eq!((forever + forever).audio_duration, Duration::MAX);
    }
}
