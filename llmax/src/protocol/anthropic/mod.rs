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
//! - tools, tool choice and `parallel_tool_calls: false` are written in
//!   Anthropic's shapes; `user` (given with `extra`) becomes
//!   `metadata.user_id`;
//! - options with no Anthropic meaning (`seed`, `response_format`,
//!   `frequency_penalty`, `presence_penalty`, `logprobs`, `top_logprobs`,
//!   `logit_bias`, `stream_options`) are dropped with a `tracing` warning;
//!   `n` other than 1 is refused;
//! - prompt-cache breakpoints are placed as [`PromptCache`] says.

//!
//! This module is the request translation alone, and longer than most
//! (about 750 lines) for a measured reason: the body is serialized from
//! borrowed, typed structs (system blocks, content blocks, merged turns,
//! tools, tool choice, cache markers) that exist only for this serializer,
//! which took Anthropic calls from 1.37x to 1.14x the benchmark floor
//! against building a `serde_json::Value`. Responses are in `response.rs`,
//! streams in `stream.rs`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

// The hand-written readers of stream events share their pieces with OpenAI's.
use super::openai::{Name, Nullable, once, rare};
use super::{Flow, Parsed, StreamDecoder};
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::message::{Content, ContentPart, FunctionCall, Message, ToolCall};
use crate::options::{CacheBreakpoint, CallOptions, PromptCache};
use crate::response::{AssistantMessage, Choice, FinishReason, StreamChunk, ToolCallDelta, Usage};
use crate::tools::Tool;

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

/// A `cache_control` marker: `{"type": "ephemeral"}`.
#[derive(Serialize, Clone, Copy)]
#[serde(tag = "type", rename_all = "lowercase")]
enum CacheControl {
    Ephemeral,
}

/// A top-level `system` block.
#[derive(Serialize)]
struct SystemBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

impl<'a> SystemBlock<'a> {
    fn new(text: Cow<'a, str>) -> SystemBlock<'a> {
        SystemBlock {
            kind: "text",
            text,
            cache_control: None,
        }
    }
}

/// A content block of a turn, borrowed from the caller's messages.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Image {
        source: Source<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Input<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
}

impl Block<'_> {
    fn cache_control(&mut self) -> &mut Option<CacheControl> {
        match self {
            Block::Text { cache_control, .. }
            | Block::Image { cache_control, .. }
            | Block::ToolUse { cache_control, .. }
            | Block::ToolResult { cache_control, .. } => cache_control,
        }
    }
}

/// An image block's source.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

/// A tool call's input: its arguments as they are (checked to be JSON), or
/// `{}` when there are none.
#[derive(Serialize)]
#[serde(untagged)]
enum Input<'a> {
    Raw(&'a RawValue),
    Empty(EmptyObject),
}

#[derive(Serialize)]
struct EmptyObject {}

/// Consecutive messages of one role, merged: `blocks[start..end]`, from
/// messages `first..=last`.
struct Turn {
    role: &'static str,
    start: usize,
    end: usize,
    first: usize,
    last: usize,
}

/// The `messages` array.
struct Turns<'a> {
    turns: &'a [Turn],
    blocks: &'a [Block<'a>],
}

#[derive(Serialize)]
struct WireTurn<'a> {
    role: &'static str,
    content: &'a [Block<'a>],
}

impl Serialize for Turns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.turns.len()))?;
        for turn in self.turns {
            seq.serialize_element(&WireTurn {
                role: turn.role,
                content: &self.blocks[turn.start..turn.end],
            })?;
        }
        seq.end()
    }
}

/// The `tools` array, from the typed tools; `cache` marks the last.
struct Tools<'a> {
    tools: &'a [Tool],
    cache: bool,
}

#[derive(Serialize)]
struct WireTool<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

impl Serialize for Tools<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.tools.len()))?;
        let last = self.tools.len().wrapping_sub(1);
        for (index, tool) in self.tools.iter().enumerate() {
            seq.serialize_element(&WireTool {
                name: &tool.name,
                description: tool.description.as_deref(),
                input_schema: &tool.parameters,
                cache_control: (self.cache && index == last).then_some(CacheControl::Ephemeral),
            })?;
        }
        seq.end()
    }
}

/// `tool_choice`: `{"type": mode}` or `{"type": "tool", "name": name}`.
enum ToolChoice<'a> {
    Mode(&'static str),
    Tool(&'a str),
}

/// `tool_choice` with `disable_parallel_tool_use` set when asked.
struct ChoiceOut<'a> {
    choice: ToolChoice<'a>,
    disable_parallel: bool,
}

#[derive(Serialize)]
struct TypedChoice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disable_parallel_tool_use: Option<bool>,
}

impl Serialize for ChoiceOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let disable_parallel_tool_use = self.disable_parallel.then_some(true);
        let (kind, name) = match self.choice {
            ToolChoice::Mode(kind) => (kind, None),
            ToolChoice::Tool(name) => ("tool", Some(name)),
        };
        TypedChoice {
            kind,
            name,
            disable_parallel_tool_use,
        }
        .serialize(serializer)
    }
}

/// The `extra` options llmax reads or drops, and those that replace a field
/// llmax sets (the caller's value wins, in the field's place).
#[derive(Default)]
struct Extras<'a> {
    n: Option<&'a Value>,
    user: Option<&'a Value>,
    /// Bit `i` set: `DROPPED[i]` was given.
    dropped: u32,
    model: Option<&'a Value>,
    max_tokens: Option<&'a Value>,
    system: Option<&'a Value>,
    messages: Option<&'a Value>,
    temperature: Option<&'a Value>,
    top_p: Option<&'a Value>,
    stop_sequences: Option<&'a Value>,
    metadata: Option<&'a Value>,
    stream: Option<&'a Value>,
}

impl<'a> Extras<'a> {
    fn sort(extra: &'a Map<String, Value>) -> Extras<'a> {
        let mut extras = Extras::default();
        for (key, value) in extra {
            let slot = match key.as_str() {
                "n" => &mut extras.n,
                "user" => &mut extras.user,
                "model" => &mut extras.model,
                "max_tokens" => &mut extras.max_tokens,
                "system" => &mut extras.system,
                "messages" => &mut extras.messages,
                "temperature" => &mut extras.temperature,
                "top_p" => &mut extras.top_p,
                "stop_sequences" => &mut extras.stop_sequences,
                "metadata" => &mut extras.metadata,
                "stream" => &mut extras.stream,
                name => {
                    if let Some(index) = DROPPED.iter().position(|dropped| *dropped == name) {
                        extras.dropped |= 1 << index;
                    }
                    continue;
                }
            };
            *slot = Some(value);
        }
        extras
    }
}

/// The Messages body, borrowing everything it can.
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    system: &'a [SystemBlock<'a>],
    messages: Turns<'a>,
    temperature: Option<Value>,
    top_p: Option<Value>,
    stop: Option<&'a [String]>,
    tools: Option<Tools<'a>>,
    tool_choice: Option<ChoiceOut<'a>>,
    user: Option<&'a Value>,
    stream: bool,
    extras: &'a Extras<'a>,
    /// Everything else passes through (thinking, metadata, top_k...).
    extra: &'a Map<String, Value>,
}

impl Body<'_> {
    /// Whether an `extra` option is sent after llmax's fields: not read or
    /// dropped by llmax, and not replacing one of its fields.
    fn passes(&self, key: &str) -> bool {
        match key {
            "n" | "user" => false,
            "tools" => self.tools.is_none(),
            "tool_choice" => self.tool_choice.is_none(),
            "model" | "max_tokens" | "messages" => false,
            "system" => self.system.is_empty(),
            "temperature" => self.temperature.is_none(),
            "top_p" => self.top_p.is_none(),
            "stop_sequences" => self.stop.is_none(),
            "metadata" => self.user.is_none(),
            "stream" => !self.stream,
            other => !DROPPED.contains(&other),
        }
    }
}

/// An entry, unless `extra` replaces its value.
fn entry<M: SerializeMap, T: Serialize + ?Sized>(
    map: &mut M,
    key: &'static str,
    replaced: Option<&Value>,
    value: &T,
) -> std::result::Result<(), M::Error> {
    match replaced {
        Some(replaced) => map.serialize_entry(key, replaced),
        None => map.serialize_entry(key, value),
    }
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let extras = self.extras;
        let mut map = serializer.serialize_map(None)?;
        entry(&mut map, "model", extras.model, self.model)?;
        entry(&mut map, "max_tokens", extras.max_tokens, &self.max_tokens)?;
        if !self.system.is_empty() {
            entry(&mut map, "system", extras.system, self.system)?;
        }
        entry(&mut map, "messages", extras.messages, &self.messages)?;
        if let Some(temperature) = &self.temperature {
            entry(&mut map, "temperature", extras.temperature, temperature)?;
        }
        if let Some(top_p) = &self.top_p {
            entry(&mut map, "top_p", extras.top_p, top_p)?;
        }
        if let Some(stop) = self.stop {
            entry(&mut map, "stop_sequences", extras.stop_sequences, stop)?;
        }
        if let Some(tools) = &self.tools {
            map.serialize_entry("tools", tools)?;
        }
        if let Some(choice) = &self.tool_choice {
            map.serialize_entry("tool_choice", choice)?;
        }
        if let Some(user) = self.user {
            entry(
                &mut map,
                "metadata",
                extras.metadata,
                &Metadata { user_id: user },
            )?;
        }
        if self.stream {
            entry(&mut map, "stream", extras.stream, &true)?;
        }
        for (key, value) in self.extra {
            if self.passes(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Metadata<'a> {
    user_id: &'a Value,
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
    let mut system: Vec<SystemBlock> = Vec::new();
    if let Some(text) = &options.system {
        system.push(SystemBlock::new(Cow::Borrowed(text)));
    }
    // The conversation, merged by role.
    let mut blocks: Vec<Block> = Vec::with_capacity(messages.len());
    let mut turns: Vec<Turn> = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let start = blocks.len();
        let role = match message {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                system.push(SystemBlock::new(text_of(content)));
                continue;
            }
            Message::User { content, .. } => {
                content_blocks(content, &mut blocks, &invalid)?;
                "user"
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                if let Some(content) = content {
                    content_blocks(content, &mut blocks, &invalid)?;
                }
                for call in tool_calls {
                    blocks.push(tool_use_block(call, &invalid)?);
                }
                "assistant"
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                blocks.push(Block::ToolResult {
                    tool_use_id: tool_call_id,
                    content: text_of(content),
                    cache_control: None,
                });
                "user"
            }
        };
        let end = blocks.len();
        if end == start {
            continue;
        }
        match turns.last_mut() {
            Some(turn) if turn.role == role => {
                turn.end = end;
                turn.last = index;
            }
            _ => turns.push(Turn {
                role,
                start,
                end,
                first: index,
                last: index,
            }),
        }
    }
    if turns.is_empty() {
        return Err(invalid("no user or assistant message to send".to_owned()));
    }

    let extras = if options.extra.is_empty() {
        Extras::default()
    } else {
        Extras::sort(&options.extra)
    };
    let tools = (!options.tools.is_empty()).then_some(options.tools.as_slice());
    let tool_choice = options.tool_choice.as_ref().map(|choice| match choice {
        crate::tools::ToolChoice::Auto => ToolChoice::Mode("auto"),
        crate::tools::ToolChoice::Required => ToolChoice::Mode("any"),
        crate::tools::ToolChoice::None => ToolChoice::Mode("none"),
        crate::tools::ToolChoice::Named(name) => ToolChoice::Tool(name),
    });
    if let Some(n) = extras.n
        && n.as_u64() != Some(1)
    {
        return Err(invalid(format!(
            "Anthropic returns one choice; `n` = {n} is not supported"
        )));
    }
    for (index, name) in DROPPED.iter().enumerate() {
        if extras.dropped & (1 << index) != 0 {
            warn_dropped(model, name);
        }
    }
    if options.seed.is_some() {
        warn_dropped(model, "seed");
    }
    if options.thinking.is_some() {
        // Anthropic's own `thinking` field goes through `extra`.
        warn_dropped(
            model,
            "thinking (the typed option; use extra(\"thinking\", ...))",
        );
    }
    if options.response_format.is_some() {
        warn_dropped(model, "response_format");
    }

    // Cache breakpoints.
    let mut cache_tools = false;
    match &options.prompt_cache {
        PromptCache::Off => {}
        PromptCache::Auto => {
            if let Some(last) = system.last_mut() {
                last.cache_control = Some(CacheControl::Ephemeral);
            }
            cache_tools = true;
            for turn in turns.iter().rev().take(2) {
                *blocks[turn.end - 1].cache_control() = Some(CacheControl::Ephemeral);
            }
        }
        PromptCache::At(points) => {
            if points.len() > MAX_BREAKPOINTS {
                return Err(invalid(format!(
                    "{} prompt-cache breakpoints; Anthropic takes at most {MAX_BREAKPOINTS}",
                    points.len()
                )));
            }
            for point in points {
                match *point {
                    CacheBreakpoint::System => {
                        if let Some(last) = system.last_mut() {
                            last.cache_control = Some(CacheControl::Ephemeral);
                        }
                    }
                    CacheBreakpoint::Tools => cache_tools = true,
                    CacheBreakpoint::Message(index) => {
                        if index >= messages.len() {
                            return Err(invalid(format!(
                                "prompt-cache breakpoint on message {index}, but there are {} messages",
                                messages.len()
                            )));
                        }
                        // The breakpoint goes on the last block of the turn
                        // that holds the message (merged turns end with their
                        // last message); messages that add no block are in no
                        // turn.
                        let turn = turns
                            .iter()
                            .find(|turn| turn.first <= index && index <= turn.last);
                        if let Some(turn) = turn
                            && adds_blocks(&messages[index])
                        {
                            *blocks[turn.end - 1].cache_control() = Some(CacheControl::Ephemeral);
                        }
                    }
                }
            }
        }
    }

    let temperature = options
        .temperature
        .map(|temperature| super::finite(model, "temperature", temperature))
        .transpose()?;
    let top_p = options
        .top_p
        .map(|top_p| super::finite(model, "top_p", top_p))
        .transpose()?;
    let disable_parallel = options.parallel_tool_calls == Some(false);
    let tool_choice = match tool_choice {
        Some(choice) => Some(choice),
        None if disable_parallel => Some(ToolChoice::Mode("auto")),
        None => None,
    }
    .map(|choice| ChoiceOut {
        choice,
        disable_parallel,
    });
    let body = Body {
        model: &resolved.wire_model,
        max_tokens: options
            .max_tokens
            .or(resolved.model.max_output_tokens)
            .unwrap_or(FALLBACK_MAX_TOKENS),
        system: &system,
        messages: Turns {
            turns: &turns,
            blocks: &blocks,
        },
        temperature,
        top_p,
        stop: options.stop.as_deref(),
        tools: tools.map(|tools| Tools {
            tools,
            cache: cache_tools,
        }),
        tool_choice,
        user: extras.user,
        stream,
        extras: &extras,
        extra: &options.extra,
    };
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

fn warn_dropped(model: &str, option: &str) {
    tracing::warn!(
        model,
        option,
        "llmax: option not supported by Anthropic, dropped"
    );
}

/// The text of a content, borrowed when it is plain text.
fn text_of(content: &Content) -> Cow<'_, str> {
    match content {
        Content::Text(text) => Cow::Borrowed(text),
        Content::Parts(_) => Cow::Owned(content.text()),
    }
}

/// Whether a message adds blocks to a turn (as `content_blocks` and the
/// tool blocks make them).
fn adds_blocks(message: &Message) -> bool {
    let has_blocks = |content: &Content| match content {
        Content::Text(text) => !text.is_empty(),
        Content::Parts(parts) => !parts.is_empty(),
    };
    match message {
        Message::System { .. } | Message::Developer { .. } => false,
        Message::User { content, .. } => has_blocks(content),
        Message::Assistant {
            content,
            tool_calls,
            ..
        } => content.as_ref().is_some_and(has_blocks) || !tool_calls.is_empty(),
        Message::Tool { .. } => true,
    }
}

fn content_blocks<'a>(
    content: &'a Content,
    blocks: &mut Vec<Block<'a>>,
    invalid: &impl Fn(String) -> Error,
) -> Result<()> {
    match content {
        Content::Text(text) if text.is_empty() => {}
        Content::Text(text) => blocks.push(Block::Text {
            text,
            cache_control: None,
        }),
        Content::Parts(parts) => {
            for part in parts {
                blocks.push(match part {
                    ContentPart::Text { text } => Block::Text {
                        text,
                        cache_control: None,
                    },
                    ContentPart::ImageUrl { image_url } => Block::Image {
                        source: image_source(&image_url.url),
                        cache_control: None,
                    },
                    ContentPart::InputAudio { .. } => {
                        return Err(invalid(
                            "Anthropic models do not read audio parts".to_owned(),
                        ));
                    }
                });
            }
        }
    }
    Ok(())
}

/// `data:image/png;base64,...` as a base64 source, anything else as a URL.
fn image_source(url: &str) -> Source<'_> {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return Source::Base64 { media_type, data };
    }
    Source::Url { url }
}

/// Any JSON value, checked and dropped: what parsing into a [`Value`]
/// accepts and refuses (with the same errors), without building one.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Checked, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

fn tool_use_block<'a>(call: &'a ToolCall, invalid: &impl Fn(String) -> Error) -> Result<Block<'a>> {
    let arguments = call.function.arguments.trim();
    let not_json = |error: serde_json::Error| {
        invalid(format!(
            "the arguments of tool call `{}` are not JSON: {error}",
            call.id
        ))
    };
    let input = if arguments.is_empty() {
        Input::Empty(EmptyObject {})
    } else {
        serde_json::from_str::<Checked>(arguments).map_err(not_json)?;
        Input::Raw(serde_json::from_str::<&RawValue>(arguments).map_err(not_json)?)
    };
    Ok(Block::ToolUse {
        id: &call.id,
        name: &call.function.name,
        input,
        cache_control: None,
    })
}

mod response;
mod stream;
#[cfg(test)]
mod tests;

pub(crate) use response::parse;
pub(crate) use stream::Decoder;
