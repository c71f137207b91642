//! What calls return: whole responses, stream chunks and token usage, the
//! same for every protocol.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Price, Usd};
use crate::message::ToolCall;

/// A whole (non-streamed) chat response.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// One choice of a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// Its index.
    pub index: u32,
    /// What the model said.
    pub message: AssistantMessage,
    /// Why it stopped.
    pub finish_reason: Option<FinishReason>,
}

/// The assistant's message in a response.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
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
    /// Maps OpenAI-style and Anthropic-style reason names.
    pub fn from_wire(reason: &str) -> FinishReason {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
}

impl Usage {
    /// What these tokens cost at `price`.
    ///
    /// Cached and cache-write tokens are priced apart when the price has a
    /// rate for them, as input otherwise. Exact: integer pico-dollars,
    /// saturating at `u64::MAX` pico-dollars for absurd counts.
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
        }
    }
}

/// One item of a stream: the same type for every protocol.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ToolCallDelta {
    /// Which call of the message this fragment belongs to.
    pub index: u32,
    /// The call id (first fragment).
    pub id: Option<String>,
    /// The function name (first fragment).
    pub name: Option<String>,
    /// A piece of the JSON arguments.
    pub arguments: Option<String>,
}
