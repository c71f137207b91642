//! Anthropic's Messages protocol (`POST /v1/messages`).
//!
//! llmax's messages and options are OpenAI-shaped; this adapter translates
//! them so that switching a deployment from `gpt-4o` to `claude-4.5-sonnet`
//! changes nothing in the caller's code:
//!
//! - system and developer messages, and the `system` option, become the
//!   top-level `system` blocks;
//! - image parts become image blocks (`data:` URLs as base64, others as
//!   URLs); audio parts are refused, Claude does not read audio;
//! - assistant tool calls and tool results become `tool_use` and
//!   `tool_result` blocks, and consecutive messages of the same role are
//!   merged, as the API requires;
//! - `max_tokens` is required: the option, else the model's maximum output
//!   from the manifest; `stop` becomes `stop_sequences`;
//! - OpenAI-style `tools` and `tool_choice` (given with `extra`) are
//!   translated, `user` becomes `metadata.user_id`;
//! - options with no Anthropic meaning (`seed`, `response_format`,
//!   `frequency_penalty`, `presence_penalty`, `logprobs`, `top_logprobs`,
//!   `logit_bias`, `stream_options`) are dropped with a `tracing` warning;
//!   `n` other than 1 is refused;
//! - prompt-cache breakpoints are placed as [`PromptCache`] says.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Flow, Parsed, StreamDecoder};
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::message::{Content, ContentPart, FunctionCall, Message, ToolCall};
use crate::options::{CacheBreakpoint, CallOptions, PromptCache};
use crate::response::{AssistantMessage, Choice, FinishReason, StreamChunk, ToolCallDelta, Usage};

/// `max_tokens` when neither the call nor the manifest gives one.
const FALLBACK_MAX_TOKENS: u32 = 4096;
/// Anthropic's limit on `cache_control` breakpoints per request.
const MAX_BREAKPOINTS: usize = 4;
/// OpenAI options that mean nothing to Anthropic: dropped with a warning.
const DROPPED: &[&str] = &[
    "seed",
    "response_format",
    "frequency_penalty",
    "presence_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "stream_options",
    "max_completion_tokens",
];

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// Builds the Messages body.
pub(crate) fn body(
    resolved: &Resolved,
    messages: &[Message],
    options: &CallOptions,
    stream: bool,
) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };

    // System blocks: the option first, then system/developer messages in order.
    let mut system: Vec<Value> = Vec::new();
    if let Some(text) = &options.system {
        system.push(json!({"type": "text", "text": text}));
    }
    // (original index, role, blocks) of the conversation, merged by role.
    let mut turns: Vec<(Vec<usize>, &'static str, Vec<Value>)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let (role, blocks) = match message {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                system.push(json!({"type": "text", "text": content.text()}));
                continue;
            }
            Message::User { content, .. } => ("user", content_blocks(content, &invalid)?),
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                let mut blocks = match content {
                    Some(content) => content_blocks(content, &invalid)?,
                    None => Vec::new(),
                };
                for call in tool_calls {
                    blocks.push(tool_use_block(call, &invalid)?);
                }
                ("assistant", blocks)
            }
            Message::Tool {
                content,
                tool_call_id,
            } => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": tool_call_id,
                    "content": content.text(),
                })],
            ),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((indices, last_role, last_blocks)) if *last_role == role => {
                indices.push(index);
                last_blocks.extend(blocks);
            }
            _ => turns.push((vec![index], role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(invalid("no user or assistant message to send".to_owned()));
    }

    let mut extra = options.extra.clone();
    let mut tools = match extra.remove("tools") {
        Some(tools) => Some(translate_tools(tools, &invalid)?),
        None => None,
    };
    let tool_choice = extra
        .remove("tool_choice")
        .map(|choice| translate_tool_choice(choice, &invalid))
        .transpose()?;
    if let Some(n) = extra.remove("n")
        && n.as_u64() != Some(1)
    {
        return Err(invalid(format!(
            "Anthropic returns one choice; `n` = {n} is not supported"
        )));
    }
    let user = extra.remove("user");
    let parallel = extra.remove("parallel_tool_calls");
    for name in DROPPED {
        if extra.remove(*name).is_some() {
            warn_dropped(model, name);
        }
    }
    if options.seed.is_some() {
        warn_dropped(model, "seed");
    }
    if options.response_format.is_some() {
        warn_dropped(model, "response_format");
    }

    // Cache breakpoints.
    let breakpoints: Vec<CacheBreakpoint> = match &options.prompt_cache {
        PromptCache::Off => Vec::new(),
        PromptCache::Auto => {
            let mut auto = vec![CacheBreakpoint::System, CacheBreakpoint::Tools];
            let last_turns = turns.iter().rev().take(2);
            auto.extend(last_turns.filter_map(|(indices, _, _)| {
                indices.last().copied().map(CacheBreakpoint::Message)
            }));
            auto
        }
        PromptCache::At(points) => {
            if points.len() > MAX_BREAKPOINTS {
                return Err(invalid(format!(
                    "{} prompt-cache breakpoints; Anthropic takes at most {MAX_BREAKPOINTS}",
                    points.len()
                )));
            }
            points.clone()
        }
    };
    for point in &breakpoints {
        match point {
            CacheBreakpoint::System => {
                if let Some(Value::Object(last)) = system.last_mut() {
                    last.insert("cache_control".into(), ephemeral());
                }
            }
            CacheBreakpoint::Tools => {
                if let Some(Value::Object(last)) = tools.as_mut().and_then(|t| t.last_mut()) {
                    last.insert("cache_control".into(), ephemeral());
                }
            }
            CacheBreakpoint::Message(index) => {
                if *index >= messages.len() {
                    return Err(invalid(format!(
                        "prompt-cache breakpoint on message {index}, but there are {} messages",
                        messages.len()
                    )));
                }
                // The breakpoint goes on the last block of the turn that
                // holds the message (merged turns end with their last message).
                let turn = turns
                    .iter_mut()
                    .find(|(indices, _, _)| indices.contains(index));
                if let Some((_, _, blocks)) = turn
                    && let Some(Value::Object(last)) = blocks.last_mut()
                {
                    last.insert("cache_control".into(), ephemeral());
                }
            }
        }
    }

    let mut body = Map::new();
    body.insert("model".into(), Value::String(resolved.wire_model.clone()));
    let max_tokens = options
        .max_tokens
        .or(resolved.model.max_output_tokens)
        .unwrap_or(FALLBACK_MAX_TOKENS);
    body.insert("max_tokens".into(), max_tokens.into());
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(_, role, blocks)| json!({"role": role, "content": blocks}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    if let Some(temperature) = options.temperature {
        body.insert(
            "temperature".into(),
            super::finite(model, "temperature", temperature)?,
        );
    }
    if let Some(top_p) = options.top_p {
        body.insert("top_p".into(), super::finite(model, "top_p", top_p)?);
    }
    if let Some(stop) = &options.stop {
        body.insert("stop_sequences".into(), json!(stop));
    }
    if let Some(tools) = tools {
        body.insert("tools".into(), Value::Array(tools));
    }
    let mut tool_choice = tool_choice;
    if parallel == Some(Value::Bool(false)) {
        let choice = tool_choice.get_or_insert_with(|| json!({"type": "auto"}));
        if let Value::Object(choice) = choice {
            choice.insert("disable_parallel_tool_use".into(), Value::Bool(true));
        }
    }
    if let Some(choice) = tool_choice {
        body.insert("tool_choice".into(), choice);
    }
    if let Some(user) = user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    // Everything else passes through (thinking, metadata, top_k...).
    body.extend(extra);
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

fn warn_dropped(model: &str, option: &str) {
    tracing::warn!(
        model,
        option,
        "llmax: option not supported by Anthropic, dropped"
    );
}

fn content_blocks(content: &Content, invalid: &impl Fn(String) -> Error) -> Result<Vec<Value>> {
    match content {
        Content::Text(text) if text.is_empty() => Ok(Vec::new()),
        Content::Text(text) => Ok(vec![json!({"type": "text", "text": text})]),
        Content::Parts(parts) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text { text } => Ok(json!({"type": "text", "text": text})),
                ContentPart::ImageUrl { image_url } => Ok(image_block(&image_url.url)),
                ContentPart::InputAudio { .. } => Err(invalid(
                    "Anthropic models do not read audio parts".to_owned(),
                )),
            })
            .collect(),
    }
}

/// `data:image/png;base64,...` as a base64 source, anything else as a URL.
fn image_block(url: &str) -> Value {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return json!({
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        });
    }
    json!({"type": "image", "source": {"type": "url", "url": url}})
}

fn tool_use_block(call: &ToolCall, invalid: &impl Fn(String) -> Error) -> Result<Value> {
    let arguments = call.function.arguments.trim();
    let input: Value = if arguments.is_empty() {
        json!({})
    } else {
        serde_json::from_str(arguments).map_err(|error| {
            invalid(format!(
                "the arguments of tool call `{}` are not JSON: {error}",
                call.id
            ))
        })?
    };
    Ok(json!({"type": "tool_use", "id": call.id, "name": call.function.name, "input": input}))
}

/// OpenAI `[{"type": "function", "function": {...}}]` to Anthropic tools;
/// tools already in Anthropic's shape pass as they are.
fn translate_tools(tools: Value, invalid: &impl Fn(String) -> Error) -> Result<Vec<Value>> {
    let Value::Array(tools) = tools else {
        return Err(invalid("`tools` must be an array".to_owned()));
    };
    Ok(tools
        .into_iter()
        .map(|tool| match tool.get("function") {
            Some(function) => {
                let mut out = Map::new();
                out.insert(
                    "name".into(),
                    function.get("name").cloned().unwrap_or(Value::Null),
                );
                if let Some(description) = function.get("description") {
                    out.insert("description".into(), description.clone());
                }
                let schema = function
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"}));
                out.insert("input_schema".into(), schema);
                Value::Object(out)
            }
            None => tool,
        })
        .collect())
}

fn translate_tool_choice(choice: Value, invalid: &impl Fn(String) -> Error) -> Result<Value> {
    Ok(match &choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => json!({"type": "auto"}),
            "required" | "any" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            other => return Err(invalid(format!("unknown tool_choice `{other}`"))),
        },
        Value::Object(object) => match object.get("function").and_then(|f| f.get("name")) {
            Some(name) => json!({"type": "tool", "name": name}),
            None => choice,
        },
        _ => {
            return Err(invalid(
                "`tool_choice` must be a string or an object".to_owned(),
            ));
        }
    })
}

// ---- responses ----

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_details: Option<StopDetails>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StopDetails {
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<Value>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Later values win where they are given (message_delta over message_start).
    fn update(&mut self, later: WireUsage) {
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
            input_tokens: wire.input_tokens.unwrap_or(0) + read + written,
            output_tokens: wire.output_tokens.unwrap_or(0),
            cached_input_tokens: read,
            cache_write_tokens: written,
            reasoning_tokens: 0,
        }
    }
}

/// Parses a whole Messages response.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<Parsed> {
    let wire: WireMessage = serde_json::from_slice(body)
        .map_err(|error| Error::decode(provider, error.to_string(), body))?;
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
        }],
        usage: wire.usage.map(Usage::from).unwrap_or_default(),
    })
}

// ---- streams ----

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    content_block: Option<WireBlock>,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_details: Option<StopDetails>,
}

/// Decodes a Messages event stream.
pub(crate) struct Decoder {
    provider: &'static str,
    usage: Option<WireUsage>,
    /// The tool-call index of each content block that is a `tool_use`.
    tool_blocks: Vec<(u32, u32)>,
}

impl Decoder {
    pub fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            tool_blocks: Vec::new(),
        }
    }

    fn tool_index(&self, block: u32) -> Option<u32> {
        self.tool_blocks
            .iter()
            .find(|(b, _)| *b == block)
            .map(|(_, tool)| *tool)
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        if event == "error" {
            return Err(super::errors::from_event(self.provider, data).into());
        }
        let wire: WireEvent = serde_json::from_str(data)
            .map_err(|error| Error::decode(self.provider, error.to_string(), data.as_bytes()))?;
        match wire.kind.as_str() {
            "message_start" => {
                if let Some(usage) = wire.message.and_then(|message| message.usage) {
                    self.usage.get_or_insert_default().update(usage);
                }
            }
            "content_block_start" => {
                let block_index = wire.index.unwrap_or(0);
                if let Some(block) = wire.content_block {
                    match block.kind.as_str() {
                        "tool_use" => {
                            let tool = self.tool_blocks.len() as u32;
                            self.tool_blocks.push((block_index, tool));
                            out.push(StreamChunk {
                                tool_calls: vec![ToolCallDelta {
                                    index: tool,
                                    id: block.id,
                                    name: block.name,
                                    arguments: None,
                                }],
                                ..StreamChunk::default()
                            });
                        }
                        "text" => {
                            if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                                out.push(StreamChunk {
                                    content: Some(text),
                                    ..StreamChunk::default()
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            "content_block_delta" => {
                let Some(delta) = wire.delta else {
                    return Ok(Flow::Continue);
                };
                let mut chunk = StreamChunk::default();
                match delta.kind.as_deref() {
                    Some("text_delta") => chunk.content = delta.text.filter(|t| !t.is_empty()),
                    Some("thinking_delta") => {
                        chunk.reasoning = delta.thinking.filter(|t| !t.is_empty());
                    }
                    Some("input_json_delta") => {
                        let block = wire.index.unwrap_or(0);
                        if let (Some(index), Some(json)) = (
                            self.tool_index(block),
                            delta.partial_json.filter(|j| !j.is_empty()),
                        ) {
                            chunk.tool_calls.push(ToolCallDelta {
                                index,
                                arguments: Some(json),
                                ..ToolCallDelta::default()
                            });
                        }
                    }
                    _ => {}
                }
                if !chunk.is_empty() {
                    out.push(chunk);
                }
            }
            "message_delta" => {
                if let Some(usage) = wire.usage {
                    self.usage.get_or_insert_default().update(usage);
                }
                let mut chunk = StreamChunk::default();
                if let Some(delta) = wire.delta {
                    chunk.finish_reason = delta.stop_reason.as_deref().map(FinishReason::from_wire);
                    if chunk.finish_reason == Some(FinishReason::Refusal) {
                        chunk.refusal = Some(
                            delta
                                .stop_details
                                .and_then(|details| details.explanation)
                                .unwrap_or_else(|| "refused".to_owned()),
                        );
                    }
                }
                // The output count is final here: usage rides on this chunk.
                chunk.usage = self.usage.map(Usage::from);
                out.push(chunk);
            }
            "message_stop" => return Ok(Flow::Done),
            "error" => return Err(super::errors::from_event(self.provider, data).into()),
            // ping, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(Usage::from)
    }
}
