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
//
// Stream events are read by hand over serde's visitor API, not derived: it
// runs once per streamed chunk, and measured with callgrind in the benchmark
// suite (`llmax-bench profile 3`), the derived event (every field of every
// event type inline, about 470 bytes) cost some 600 instructions per chunk
// in copies alone, and its type names were allocated as strings. Here the
// event is filled in place, type names are matched without allocating, and
// the fields of rare events (the start, content block starts, the final
// usage) still go through derived types.

/// The types of events llmax acts on.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    MessageStart,
    ContentBlockStart,
    ContentBlockDelta,
    ContentBlockStop,
    MessageDelta,
    MessageStop,
    Error,
    /// `ping`, and types added later.
    #[default]
    Other,
}

impl EventKind {
    fn of(name: &str) -> EventKind {
        match name {
            "message_start" => EventKind::MessageStart,
            "content_block_start" => EventKind::ContentBlockStart,
            "content_block_delta" => EventKind::ContentBlockDelta,
            "content_block_stop" => EventKind::ContentBlockStop,
            "message_delta" => EventKind::MessageDelta,
            "message_stop" => EventKind::MessageStop,
            "error" => EventKind::Error,
            _ => EventKind::Other,
        }
    }
}

#[derive(Default)]
struct WireEvent {
    kind: EventKind,
    index: Option<u32>,
    message: Option<StartMessage>,
    content_block: Option<WireBlock>,
    delta: Option<WireDelta>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DeltaKind {
    TextDelta,
    ThinkingDelta,
    InputJsonDelta,
    Other,
}

impl DeltaKind {
    fn of(name: &str) -> DeltaKind {
        match name {
            "text_delta" => DeltaKind::TextDelta,
            "thinking_delta" => DeltaKind::ThinkingDelta,
            "input_json_delta" => DeltaKind::InputJsonDelta,
            _ => DeltaKind::Other,
        }
    }
}

#[derive(Default)]
struct WireDelta {
    kind: Option<DeltaKind>,
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
    stop_reason: Option<String>,
    stop_details: Option<StopDetails>,
}

/// Where a stream is in the Messages protocol: one `message_start`, then
/// content blocks (`content_block_start`, its deltas, `content_block_stop`)
/// and `message_delta`s, then `message_stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// No `message_start` yet.
    Before,
    /// Inside the message of this id (empty if the provider gave none).
    Open(String),
    /// After `message_stop`: nothing may follow.
    Stopped,
}

/// A content block that started.
#[derive(Debug, Clone, Copy)]
struct BlockState {
    /// Its tool-call index, if it is a `tool_use` block.
    tool: Option<u32>,
    /// Whether its `content_block_stop` came.
    stopped: bool,
}

enum EventField {
    Type,
    Index,
    Message,
    ContentBlock,
    Delta,
    Usage,
    Other,
}

impl EventField {
    fn of(name: &str) -> EventField {
        match name {
            "type" => EventField::Type,
            "index" => EventField::Index,
            "message" => EventField::Message,
            "content_block" => EventField::ContentBlock,
            "delta" => EventField::Delta,
            "usage" => EventField::Usage,
            _ => EventField::Other,
        }
    }
}

/// An event, read into a `WireEvent`.
struct EventSeed<'a>(&'a mut WireEvent);

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Messages stream event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let event = self.0;
        let mut seen = [false; 6];
        while let Some(field) = map.next_key_seed(Name(EventField::of))? {
            match field {
                EventField::Type => {
                    once(&mut seen[0], "type")?;
                    event.kind = map
                        .next_value_seed(Nullable(Name(EventKind::of)))?
                        .unwrap_or_default();
                }
                EventField::Index => {
                    once(&mut seen[1], "index")?;
                    event.index = map.next_value()?;
                }
                EventField::Message => {
                    once(&mut seen[2], "message")?;
                    event.message = rare(&mut map)?;
                }
                EventField::ContentBlock => {
                    once(&mut seen[3], "content_block")?;
                    event.content_block = rare(&mut map)?;
                }
                EventField::Delta => {
                    once(&mut seen[4], "delta")?;
                    map.next_value_seed(Nullable(DeltaSeed(&mut event.delta)))?;
                }
                EventField::Usage => {
                    once(&mut seen[5], "usage")?;
                    event.usage = rare(&mut map)?;
                }
                EventField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

enum DeltaField {
    Type,
    Text,
    PartialJson,
    Thinking,
    StopReason,
    StopDetails,
    Other,
}

impl DeltaField {
    fn of(name: &str) -> DeltaField {
        match name {
            "type" => DeltaField::Type,
            "text" => DeltaField::Text,
            "partial_json" => DeltaField::PartialJson,
            "thinking" => DeltaField::Thinking,
            "stop_reason" => DeltaField::StopReason,
            "stop_details" => DeltaField::StopDetails,
            _ => DeltaField::Other,
        }
    }
}

/// An event's `delta`, read into place.
struct DeltaSeed<'a>(&'a mut Option<WireDelta>);

impl<'de> DeserializeSeed<'de> for DeltaSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DeltaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a delta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let delta = self.0.insert(WireDelta::default());
        let mut seen = [false; 6];
        while let Some(field) = map.next_key_seed(Name(DeltaField::of))? {
            match field {
                DeltaField::Type => {
                    once(&mut seen[0], "type")?;
                    delta.kind = map.next_value_seed(Nullable(Name(DeltaKind::of)))?;
                }
                DeltaField::Text => {
                    once(&mut seen[1], "text")?;
                    delta.text = map.next_value()?;
                }
                DeltaField::PartialJson => {
                    once(&mut seen[2], "partial_json")?;
                    delta.partial_json = map.next_value()?;
                }
                DeltaField::Thinking => {
                    once(&mut seen[3], "thinking")?;
                    delta.thinking = map.next_value()?;
                }
                DeltaField::StopReason => {
                    once(&mut seen[4], "stop_reason")?;
                    delta.stop_reason = map.next_value()?;
                }
                DeltaField::StopDetails => {
                    once(&mut seen[5], "stop_details")?;
                    delta.stop_details = rare(&mut map)?;
                }
                DeltaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes a Messages event stream.
///
/// Events out of protocol order are invalid data, not something to guess
/// around: a delta for a block that never started (or already stopped), a
/// second `message_start` inside an open message, anything after
/// `message_stop`. Each is a decode error, so that an answer is never
/// merged from two messages or silently missing a block.
pub(crate) struct Decoder {
    provider: &'static str,
    usage: Option<WireUsage>,
    phase: Phase,
    /// The blocks that started, by the block index the provider gave (any
    /// u32 the wire carries). A list searched from its end: a message has a
    /// few blocks and deltas go to the latest, which is cheaper per chunk
    /// than hashing the index.
    blocks: Vec<(u32, BlockState)>,
    /// How many `tool_use` blocks started: the next tool-call index.
    tools: u32,
}

impl Decoder {
    pub fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            phase: Phase::Before,
            blocks: Vec::new(),
            tools: 0,
        }
    }

    /// An error unless a message is open: `event` needs one.
    fn in_message(&self, event: &str, data: &str) -> Result<()> {
        match &self.phase {
            Phase::Open(_) => Ok(()),
            Phase::Before => Err(Error::decode(
                self.provider,
                format!("`{event}` before `message_start`"),
                data.as_bytes(),
            )),
            Phase::Stopped => Err(Error::decode(
                self.provider,
                format!("`{event}` after `message_stop`"),
                data.as_bytes(),
            )),
        }
    }

    /// The block `index` that started and has not stopped, or an error
    /// naming `event`.
    fn open_block(&mut self, event: &str, index: u32, data: &str) -> Result<&mut BlockState> {
        let provider = self.provider;
        match self.blocks.iter_mut().rev().find(|(at, _)| *at == index) {
            Some((_, block)) if !block.stopped => Ok(block),
            Some(_) => Err(Error::decode(
                provider,
                format!("`{event}` for content block {index} after its `content_block_stop`"),
                data.as_bytes(),
            )),
            None => Err(Error::decode(
                provider,
                format!("`{event}` for content block {index}, which never started"),
                data.as_bytes(),
            )),
        }
    }

    #[cold]
    #[inline(never)]
    fn message_start(&mut self, wire: WireEvent, data: &str) -> Result<()> {
        let id = wire
            .message
            .as_ref()
            .and_then(|message| message.id.clone())
            .unwrap_or_default();
        if let Phase::Open(open) = &self.phase {
            return Err(Error::decode(
                self.provider,
                format!(
                    "a second `message_start` (message `{id}`) inside message `{open}`, which \
                     did not stop"
                ),
                data.as_bytes(),
            ));
        }
        self.phase = Phase::Open(id);
        if let Some(usage) = wire.message.and_then(|message| message.usage) {
            self.usage.get_or_insert_default().update(usage);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn block_start(
        &mut self,
        wire: WireEvent,
        data: &str,
        out: &mut Vec<StreamChunk>,
    ) -> Result<()> {
        self.in_message("content_block_start", data)?;
        let block_index = wire.index.unwrap_or(0);
        if self.blocks.iter().any(|(at, _)| *at == block_index) {
            return Err(Error::decode(
                self.provider,
                format!("content block {block_index} started twice"),
                data.as_bytes(),
            ));
        }
        let mut state = BlockState {
            tool: None,
            stopped: false,
        };
        if let Some(block) = wire.content_block {
            match block.kind.as_str() {
                "tool_use" => {
                    let tool = self.tools;
                    // Bounded by the events received: one per block.
                    self.tools = self.tools.saturating_add(1);
                    state.tool = Some(tool);
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
        self.blocks.push((block_index, state));
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn message_delta(
        &mut self,
        wire: WireEvent,
        data: &str,
        out: &mut Vec<StreamChunk>,
    ) -> Result<()> {
        self.in_message("message_delta", data)?;
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
        Ok(())
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        // JSON's whitespace is ASCII: no need for `trim`'s Unicode tables.
        let data = data.trim_ascii();
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        if event == "error" {
            return Err(super::errors::from_event(self.provider, data).into());
        }
        let mut wire = WireEvent::default();
        let mut deserializer = serde_json::Deserializer::from_str(data);
        EventSeed(&mut wire)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|error| Error::decode(self.provider, error.to_string(), data.as_bytes()))?;
        if wire.kind == EventKind::Error {
            return Err(super::errors::from_event(self.provider, data).into());
        }
        if self.phase == Phase::Stopped {
            let name = if event.is_empty() { "an event" } else { event };
            return Err(Error::decode(
                self.provider,
                format!("`{name}` after `message_stop`"),
                data.as_bytes(),
            ));
        }
        match wire.kind {
            // The event of nearly every chunk, kept short; the others are
            // out of line, off the per-chunk code path.
            EventKind::ContentBlockDelta => {
                self.in_message("content_block_delta", data)?;
                let block = wire.index.unwrap_or(0);
                let tool = self.open_block("content_block_delta", block, data)?.tool;
                let Some(delta) = wire.delta else {
                    return Ok(Flow::Continue);
                };
                let mut chunk = StreamChunk::default();
                match delta.kind {
                    Some(DeltaKind::TextDelta) => {
                        chunk.content = delta.text.filter(|t| !t.is_empty());
                    }
                    Some(DeltaKind::ThinkingDelta) => {
                        chunk.reasoning = delta.thinking.filter(|t| !t.is_empty());
                    }
                    Some(DeltaKind::InputJsonDelta) => {
                        // JSON for a block that is not a `tool_use` (a
                        // server tool's input) is not a call of the caller's.
                        if let (Some(index), Some(json)) =
                            (tool, delta.partial_json.filter(|j| !j.is_empty()))
                        {
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
            EventKind::MessageStart => self.message_start(wire, data)?,
            EventKind::ContentBlockStart => self.block_start(wire, data, out)?,
            EventKind::ContentBlockStop => {
                self.in_message("content_block_stop", data)?;
                self.open_block("content_block_stop", wire.index.unwrap_or(0), data)?
                    .stopped = true;
            }
            EventKind::MessageDelta => self.message_delta(wire, data, out)?,
            EventKind::MessageStop => {
                self.in_message("message_stop", data)?;
                self.phase = Phase::Stopped;
                return Ok(Flow::Done);
            }
            EventKind::Error => return Err(super::errors::from_event(self.provider, data).into()),
            // ping, and event types added later.
            EventKind::Other => {}
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(Usage::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::message::{FunctionCall, Message, ToolCall};
    use crate::options::CallOptions;
    use crate::{Deployment, Model, Provider};

    fn body_of(messages: &[Message], options: &CallOptions) -> crate::Result<Value> {
        let resolved = Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
            .api_key("k")
            .resolve()?;
        let bytes = super::body(&resolved, messages, options, false)?;
        Ok(serde_json::from_slice(&bytes).expect("the body is JSON"))
    }

    fn calling(arguments: &str) -> Vec<Message> {
        vec![
            Message::user("hi"),
            Message::assistant_tool_calls([ToolCall {
                id: "call_1".to_owned(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: "f".to_owned(),
                    arguments: arguments.to_owned(),
                },
            }]),
        ]
    }

    #[test]
    fn tool_arguments_are_checked_as_a_value_would_be() {
        let options = CallOptions::new();
        let body = body_of(
            &calling(r#" {"a": [1, {"b": null}], "c": "\u00e9"} "#),
            &options,
        );
        let input = &body.expect("valid arguments")["messages"][1]["content"][0]["input"];
        assert_eq!(input, &json!({"a": [1, {"b": null}], "c": "é"}));
        let body = body_of(&calling("  "), &options).expect("no arguments");
        assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
        for bad in ["{not json", "1e400", "[1,]", "{} {}"] {
            let expected = serde_json::from_str::<Value>(bad).unwrap_err();
            let error = body_of(&calling(bad), &options).unwrap_err().to_string();
            assert!(
                error.contains(&format!(
                    "the arguments of tool call `call_1` are not JSON: {expected}"
                )),
                "{error}"
            );
        }
    }

    /// Feeds events to a fresh decoder: the chunks, or the first error.
    fn decode_all(events: &[Value]) -> crate::Result<Vec<crate::StreamChunk>> {
        use crate::protocol::StreamDecoder;
        let mut decoder = super::Decoder::new("anthropic");
        let mut out = Vec::new();
        for event in events {
            let kind = event["type"].as_str().unwrap_or_default();
            decoder.decode(kind, &event.to_string(), &mut out)?;
        }
        Ok(out)
    }

    fn decode_error(events: &[Value]) -> String {
        match decode_all(events) {
            Err(crate::Error::Decode { message, .. }) => message,
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn events_out_of_protocol_order_are_decode_errors() {
        let start = json!({"type": "message_start", "message": {"id": "msg_A"}});
        let block = json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}});
        let delta = json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "x"}});
        let stop_block = json!({"type": "content_block_stop", "index": 0});
        let stop = json!({"type": "message_stop"});
        let ping = json!({"type": "ping"});

        let good = [&start, &ping, &block, &delta, &stop_block, &stop].map(Clone::clone);
        assert_eq!(decode_all(&good).expect("in order").len(), 1);

        for (events, expected) in [
            (
                vec![&start, &delta],
                "`content_block_delta` for content block 0, which never started",
            ),
            (
                vec![&start, &stop_block],
                "`content_block_stop` for content block 0, which never started",
            ),
            (
                vec![&start, &block, &stop_block, &stop_block],
                "after its `content_block_stop`",
            ),
            (
                vec![&start, &block, &block],
                "content block 0 started twice",
            ),
            (
                vec![&start, &block, &start],
                "a second `message_start` (message `msg_A`) inside message `msg_A`",
            ),
            (vec![&block], "`content_block_start` before `message_start`"),
            (vec![&stop], "`message_stop` before `message_start`"),
            (vec![&start, &stop, &ping], "`ping` after `message_stop`"),
            (
                vec![&start, &stop, &start],
                "`message_start` after `message_stop`",
            ),
            (
                vec![&start, &stop, &delta],
                "`content_block_delta` after `message_stop`",
            ),
        ] {
            let events: Vec<Value> = events.into_iter().cloned().collect();
            let message = decode_error(&events);
            assert!(
                message.contains(expected),
                "{message} (expected: {expected})"
            );
        }
    }

    #[test]
    fn extras_keep_their_order_and_replace_fields_in_place() {
        let mut options = CallOptions::new();
        for (key, value) in [
            ("top_k", json!(5)),
            ("tools", json!([{"name": "raw", "input_schema": {}}])),
            ("seed", json!(1)),
            ("metadata", json!({"user_id": "x"})),
            ("thinking", json!({"type": "enabled"})),
            ("max_tokens", json!(9)),
        ] {
            options = options.extra(key, value);
        }
        let body = body_of(&[Message::user("hi")], &options).expect("a body");
        let keys: Vec<&str> = body
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "model",
                "max_tokens",
                "messages",
                "top_k",
                "tools",
                "metadata",
                "thinking"
            ]
        );
        assert_eq!(body["max_tokens"], 9);
        // `extra` is a pass-through: its tools are sent untouched.
        assert_eq!(body["tools"], json!([{"name": "raw", "input_schema": {}}]));
    }

    #[test]
    fn stream_events_read_by_hand_as_the_derived_types_did() {
        use super::{Decoder, Flow, StreamDecoder};
        use crate::response::FinishReason;
        let mut decoder = Decoder::new("anthropic");
        let mut out = Vec::new();
        for (event, data) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#,
            ),
            ("ping", r#"{"type": "ping"}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}"#,
            ),
            // Keys in any order, escapes in type names, unknown fields.
            (
                "content_block_delta",
                r#"{"delta":{"partial_json":"{\"a\"","type":"input_json_\u0064elta"},"index":1,"type":"content_block_delta","x":[1]}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":null}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"refusal","stop_details":{"explanation":"no"}},"usage":{"output_tokens":7}}"#,
            ),
        ] {
            assert_eq!(
                decoder.decode(event, data, &mut out).unwrap(),
                Flow::Continue,
                "{data}"
            );
        }
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].tool_calls[0].name.as_deref(), Some("f"));
        assert_eq!(out[1].tool_calls[0].arguments.as_deref(), Some("{\"a\""));
        assert_eq!(out[2].content.as_deref(), Some("hi"));
        assert_eq!(out[3].finish_reason, Some(FinishReason::Refusal));
        assert_eq!(out[3].refusal.as_deref(), Some("no"));
        assert_eq!(
            out[3]
                .usage
                .map(|usage| (usage.input_tokens, usage.output_tokens)),
            Some((5, 7))
        );
        let stop = decoder.decode("message_stop", r#"{"type":"message_stop"}"#, &mut out);
        assert_eq!(stop.unwrap(), Flow::Done);
        for bad in [
            r#"{"type":"content_block_delta","type":"ping"}"#,
            r#"{"type":"content_block_delta","index":-1}"#,
            r#"{"type":"content_block_delta"} x"#,
        ] {
            let error = decoder.decode("content_block_delta", bad, &mut out);
            assert!(
                matches!(error, Err(crate::Error::Decode { .. })),
                "{bad}: {error:?}"
            );
        }
        let error = decoder.decode(
            "message",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
            &mut out,
        );
        assert!(matches!(error, Err(crate::Error::Provider(_))), "{error:?}");
    }
}
