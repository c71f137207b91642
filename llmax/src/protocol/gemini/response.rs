//! Gemini responses: the wire types of a `GenerateContentResponse` (whole,
//! or one event of a stream), and its parse into llmax's types.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{LOCAL_ID_PREFIX, Parsed};
use crate::error::{Error, Result};
use crate::message::{FunctionCall, ToolCall};
use crate::response::{AssistantMessage, Choice, FinishReason, SafetyRating, Usage};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireResponse<'a> {
    #[serde(default, borrow)]
    pub(super) candidates: Vec<WireCandidate<'a>>,
    #[serde(default)]
    pub(super) usage_metadata: Option<WireUsage>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) response_id: Option<String>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<PromptFeedback>,
    /// An error sent as a stream event.
    #[serde(default)]
    pub(super) error: Option<Box<RawValue>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireCandidate<'a> {
    #[serde(default, borrow)]
    pub(super) content: Option<WireContent<'a>>,
    #[serde(default, borrow)]
    pub(super) finish_reason: Option<Str<'a>>,
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(default)]
    pub(super) safety_ratings: Vec<WireRating>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireRating {
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) probability: String,
    #[serde(default)]
    pub(super) blocked: bool,
}

impl From<WireRating> for SafetyRating {
    fn from(wire: WireRating) -> SafetyRating {
        SafetyRating {
            category: wire.category,
            probability: wire.probability,
            blocked: wire.blocked,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct WireContent<'a> {
    #[serde(default, borrow)]
    pub(super) parts: Vec<WirePart<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePart<'a> {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) thought: Option<bool>,
    /// Borrowed: Gemini 3 signs text parts too, and only a call's
    /// signature is kept.
    #[serde(default, borrow)]
    pub(super) thought_signature: Option<Str<'a>>,
    #[serde(default)]
    pub(super) function_call: Option<WireFunctionCall>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireFunctionCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    /// Read as a value, not kept raw: the arguments are handed out
    /// compact, as every other protocol gives them.
    #[serde(default)]
    pub(super) args: Option<Value>,
    /// Vertex AI's streamed arguments (`streamFunctionCallArguments`).
    #[serde(default)]
    pub(super) partial_args: Vec<PartialArg>,
    #[serde(default)]
    pub(super) will_continue: Option<bool>,
}

/// One streamed argument: its place in the arguments object and a piece
/// of its value.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct PartialArg {
    #[serde(default)]
    pub(super) json_path: String,
    #[serde(default)]
    pub(super) string_value: Option<String>,
    #[serde(default)]
    pub(super) number_value: Option<serde_json::Number>,
    #[serde(default)]
    pub(super) bool_value: Option<bool>,
    #[serde(default)]
    pub(super) null_value: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback {
    #[serde(default)]
    pub(super) block_reason: Option<String>,
    #[serde(default)]
    pub(super) block_reason_message: Option<String>,
    #[serde(default)]
    pub(super) safety_ratings: Vec<WireRating>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) prompt_token_count: Option<u64>,
    #[serde(default)]
    pub(super) candidates_token_count: Option<u64>,
    #[serde(default)]
    pub(super) thoughts_token_count: Option<u64>,
    #[serde(default)]
    pub(super) cached_content_token_count: Option<u64>,
    #[serde(default)]
    pub(super) tool_use_prompt_token_count: Option<u64>,
}

impl From<WireUsage> for Usage {
    /// Gemini counts thoughts apart from the candidates, and the prompt of
    /// a tool use apart from the prompt; llmax's `output_tokens` include
    /// the reasoning, and `input_tokens` every input token (the cached
    /// content is part of `promptTokenCount` already).
    fn from(wire: WireUsage) -> Usage {
        let thoughts = wire.thoughts_token_count.unwrap_or(0);
        Usage {
            // Saturating: absurd counts must not wrap (or panic in debug).
            input_tokens: wire
                .prompt_token_count
                .unwrap_or(0)
                .saturating_add(wire.tool_use_prompt_token_count.unwrap_or(0)),
            output_tokens: wire
                .candidates_token_count
                .unwrap_or(0)
                .saturating_add(thoughts),
            cached_input_tokens: wire.cached_content_token_count.unwrap_or(0),
            reasoning_tokens: thoughts,
            ..Usage::default()
        }
    }
}

/// A string read from the body, borrowed when it has no escapes: copied
/// only where it is kept.
#[derive(Default)]
pub(super) struct Str<'a>(pub(super) Cow<'a, str>);

impl<'a> Str<'a> {
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    pub(super) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;

        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> std::result::Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(text)))
            }

            fn visit_str<E: serde::de::Error>(
                self,
                text: &str,
            ) -> std::result::Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(
                self,
                text: String,
            ) -> std::result::Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(text)))
            }
        }

        deserializer.deserialize_str(Visit)
    }
}

/// Gemini's finish reasons in llmax's terms. `STOP` after function calls
/// is a tool-call finish, as the other protocols say it.
pub(super) fn finish_reason(reason: &str, called: bool) -> FinishReason {
    match reason {
        "STOP" if called => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        // Blocked for safety, for reciting training data, or by a block
        // list: the answer was filtered.
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// A tool call's id: Gemini's, or one made up from its index.
pub(super) fn call_id(id: Option<String>, index: u32) -> String {
    id.filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("{LOCAL_ID_PREFIX}{index}"))
}

/// The message of a blocked prompt.
pub(super) fn blocked(feedback: &PromptFeedback) -> Option<String> {
    let reason = feedback.block_reason.as_deref()?;
    Some(match &feedback.block_reason_message {
        Some(message) => format!("prompt blocked ({reason}): {message}"),
        None => format!("prompt blocked ({reason})"),
    })
}

/// Parses a whole `generateContent` response.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<Parsed> {
    let wire: WireResponse<'_> = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    if let Some(error) = &wire.error {
        let body = format!("{{\"error\":{}}}", error.get());
        return Err(crate::protocol::errors::from_event(provider, &body).into());
    }
    let mut choices = Vec::with_capacity(wire.candidates.len().max(1));
    let mut calls = 0u32;
    for (position, candidate) in wire.candidates.into_iter().enumerate() {
        let mut message = AssistantMessage::default();
        for part in candidate.content.unwrap_or_default().parts {
            if let Some(call) = part.function_call {
                let arguments = call
                    .args
                    .map_or_else(|| "{}".to_owned(), |args| args.to_string());
                message.tool_calls.push(ToolCall {
                    id: call_id(call.id, calls),
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name: call.name.unwrap_or_default(),
                        arguments,
                    },
                    thought_signature: part.thought_signature.map(Str::into_string),
                });
                calls += 1;
            } else if let Some(text) = part.text {
                let slot = if part.thought == Some(true) {
                    &mut message.reasoning
                } else {
                    &mut message.content
                };
                if !text.is_empty() {
                    // Moved in, not copied, when it is the first piece.
                    match slot {
                        Some(existing) => existing.push_str(&text),
                        None => *slot = Some(text),
                    }
                }
            }
        }
        let finish_reason = candidate
            .finish_reason
            .as_ref()
            .map(Str::as_str)
            .map(|reason| finish_reason(reason, !message.tool_calls.is_empty()));
        choices.push(Choice {
            index: candidate
                .index
                .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX)),
            message,
            finish_reason,
            safety_ratings: candidate
                .safety_ratings
                .into_iter()
                .map(SafetyRating::from)
                .collect(),
        });
    }
    if choices.is_empty()
        && let Some(refusal) = wire.prompt_feedback.as_ref().and_then(blocked)
    {
        // The prompt itself was blocked: no candidate, a reason.
        let message = AssistantMessage {
            refusal: Some(refusal),
            ..AssistantMessage::default()
        };
        choices.push(Choice {
            index: 0,
            message,
            finish_reason: Some(FinishReason::ContentFilter),
            safety_ratings: wire
                .prompt_feedback
                .map(|feedback| {
                    feedback
                        .safety_ratings
                        .into_iter()
                        .map(SafetyRating::from)
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(Parsed {
        id: wire.response_id.unwrap_or_default(),
        model: wire.model_version.unwrap_or_default(),
        choices,
        usage: wire.usage_metadata.map(Usage::from).unwrap_or_default(),
    })
}
