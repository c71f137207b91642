//! Anthropic responses: the wire types of a whole Messages reply, and its
//! parse into llmax's types.

#[allow(unused_imports)]
use super::*;

// ---- responses ----

#[derive(Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) content: Vec<WireBlock>,
    #[serde(default)]
    pub(super) stop_reason: Option<String>,
    #[serde(default)]
    pub(super) stop_details: Option<StopDetails>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct StopDetails {
    #[serde(default)]
    pub(super) explanation: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireBlock {
    #[serde(rename = "type", default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) thinking: Option<String>,
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) input: Option<Value>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Later values win where they are given (message_delta over message_start).
    pub(super) fn update(&mut self, later: WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }
}

impl From<WireUsage> for Usage {
    /// Anthropic counts cache reads and writes apart from `input_tokens`;
    /// llmax's `input_tokens` counts every input token.
    fn from(wire: WireUsage) -> Usage {
        let read = wire.cache_read_input_tokens.unwrap_or(0);
        let written = wire.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            // Saturating: the counts are the provider's, and absurd ones
            // must not wrap (or panic in a debug build).
            input_tokens: wire
                .input_tokens
                .unwrap_or(0)
                .saturating_add(read)
                .saturating_add(written),
            output_tokens: wire.output_tokens.unwrap_or(0),
            cached_input_tokens: read,
            cache_write_tokens: written,
            reasoning_tokens: 0,
            ..Usage::default()
        }
    }
}

/// Parses a whole Messages response.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<Parsed> {
    let wire: WireMessage = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    let mut message = AssistantMessage::default();
    for block in wire.content {
        match block.kind.as_str() {
            "text" => message
                .content
                .get_or_insert_default()
                .push_str(block.text.as_deref().unwrap_or_default()),
            "thinking" => message
                .reasoning
                .get_or_insert_default()
                .push_str(block.thinking.as_deref().unwrap_or_default()),
            "tool_use" => message.tool_calls.push(ToolCall {
                id: block.id.unwrap_or_default(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: block.name.unwrap_or_default(),
                    arguments: block.input.unwrap_or_else(|| json!({})).to_string(),
                },
                thought_signature: None,
            }),
            _ => {}
        }
    }
    let finish_reason = wire.stop_reason.as_deref().map(FinishReason::from_wire);
    if finish_reason == Some(FinishReason::Refusal) {
        message.refusal = Some(
            wire.stop_details
                .and_then(|details| details.explanation)
                .unwrap_or_else(|| "refused".to_owned()),
        );
    }
    Ok(Parsed {
        id: wire.id.unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason,
            safety_ratings: Vec::new(),
        }],
        usage: wire.usage.map(Usage::from).unwrap_or_default(),
    })
}
