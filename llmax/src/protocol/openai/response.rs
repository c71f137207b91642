//! OpenAI chat responses: the lenient wire types, and the parse of a whole
//! reply.

#[allow(unused_imports)]
use super::*;

// ---- wire types (lenient: every field optional, nulls accepted) ----

#[derive(Deserialize)]
pub(super) struct WireResponse {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) choices: Vec<WireChoice>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct WireChoice {
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

/// A whole message, or a stream delta: the same fields.
#[derive(Deserialize, Default)]
pub(super) struct WireMessage {
    #[serde(default)]
    pub(super) content: Option<WireContent>,
    #[serde(default)]
    pub(super) reasoning_content: Option<String>,
    /// OpenRouter's and Ollama's name for reasoning text.
    #[serde(default)]
    pub(super) reasoning: Option<String>,
    #[serde(default)]
    pub(super) refusal: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<WireToolCall>>,
}

/// Text, or typed parts (Mistral's `text` and `thinking` parts).
pub(super) enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

/// By hand rather than `#[serde(untagged)]`, which buffers every content
/// string into an intermediate value before trying each variant: that was an
/// eighth of the instructions of a call in the benchmarks.
impl<'de> Deserialize<'de> for WireContent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;

        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = WireContent;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of content parts")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WireContent, E> {
                Ok(WireContent::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<WireContent, E> {
                Ok(WireContent::Text(text))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<WireContent, A::Error> {
                let parts = Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(WireContent::Parts(parts))
            }
        }

        deserializer.deserialize_any(Visit)
    }
}

#[derive(Deserialize)]
pub(super) struct WirePart {
    #[serde(rename = "type", default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) thinking: Option<Value>,
}

impl WireContent {
    /// Splits into (answer, reasoning).
    pub(super) fn split(self) -> (Option<String>, Option<String>) {
        match self {
            WireContent::Text(text) => (Some(text), None),
            WireContent::Parts(parts) => {
                let mut answer: Option<String> = None;
                let mut reasoning: Option<String> = None;
                for part in parts {
                    match part.kind.as_deref() {
                        Some("thinking") => {
                            let text = part
                                .thinking
                                .as_ref()
                                .map(thinking_text)
                                .unwrap_or_default();
                            reasoning.get_or_insert_default().push_str(&text);
                        }
                        _ => {
                            if let Some(text) = part.text {
                                answer.get_or_insert_default().push_str(&text);
                            }
                        }
                    }
                }
                (answer, reasoning)
            }
        }
    }
}

/// Mistral's `thinking` is a list of text parts (or a string).
pub(super) fn thinking_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

#[derive(Deserialize)]
pub(super) struct WireToolCall {
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) function: Option<WireFunction>,
}

#[derive(Deserialize)]
pub(super) struct WireFunction {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) arguments: Option<WireArguments>,
}

/// Arguments as JSON text (the standard) or as a JSON object (some servers).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum WireArguments {
    Text(String),
    Json(Value),
}

impl WireArguments {
    pub(super) fn into_text(self) -> String {
        match self {
            WireArguments::Text(text) => text,
            WireArguments::Json(value) => value.to_string(),
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) prompt_tokens: Option<u64>,
    #[serde(default)]
    pub(super) completion_tokens: Option<u64>,
    #[serde(default)]
    pub(super) prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    pub(super) completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's name for cached input tokens.
    #[serde(default)]
    pub(super) prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
pub(super) struct PromptDetails {
    #[serde(default)]
    pub(super) cached_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_write_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
pub(super) struct CompletionDetails {
    #[serde(default)]
    pub(super) reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(wire: WireUsage) -> Usage {
        let prompt = wire.prompt_tokens_details;
        Usage {
            input_tokens: wire.prompt_tokens.unwrap_or(0),
            output_tokens: wire.completion_tokens.unwrap_or(0),
            cached_input_tokens: prompt
                .and_then(|details| details.cached_tokens)
                .or(wire.prompt_cache_hit_tokens)
                .unwrap_or(0),
            cache_write_tokens: prompt
                .and_then(|details| details.cache_write_tokens)
                .unwrap_or(0),
            reasoning_tokens: wire
                .completion_tokens_details
                .and_then(|details| details.reasoning_tokens)
                .unwrap_or(0),
            ..Usage::default()
        }
    }
}

/// Parses a whole chat-completions response.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<Parsed> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    let choices = wire
        .choices
        .into_iter()
        .enumerate()
        .map(|(position, choice)| {
            let message = choice.message.unwrap_or_default();
            let (content, parts_reasoning) =
                message.content.map(WireContent::split).unwrap_or_default();
            let tool_calls = message
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(n, call)| {
                    let function = call.function.unwrap_or(WireFunction {
                        name: None,
                        arguments: None,
                    });
                    ToolCall {
                        id: call.id.unwrap_or_else(|| format!("call_{n}")),
                        kind: "function".to_owned(),
                        function: FunctionCall {
                            name: function.name.unwrap_or_default(),
                            arguments: function
                                .arguments
                                .map(WireArguments::into_text)
                                .unwrap_or_default(),
                        },
                        thought_signature: None,
                    }
                })
                .collect();
            Choice {
                index: choice.index.unwrap_or(position as u32),
                message: AssistantMessage {
                    content,
                    reasoning: message
                        .reasoning_content
                        .or(message.reasoning)
                        .or(parts_reasoning),
                    refusal: message.refusal,
                    tool_calls,
                },
                finish_reason: choice.finish_reason.as_deref().map(FinishReason::from_wire),
                safety_ratings: Vec::new(),
            }
        })
        .collect();
    Ok(Parsed {
        id: wire.id.unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        choices,
        usage: wire.usage.map(Usage::from).unwrap_or_default(),
    })
}
