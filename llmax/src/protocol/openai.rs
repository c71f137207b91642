//! The OpenAI chat-completions protocol, and the dialects of the servers
//! that speak it (Azure, Mistral, DeepSeek, OpenRouter, vLLM...).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{Flow, Parsed, StreamDecoder};
use crate::catalog::Quirks;
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::message::{FunctionCall, Message, ToolCall};
use crate::options::{CallOptions, ResponseFormat};
use crate::response::{AssistantMessage, Choice, FinishReason, StreamChunk, ToolCallDelta, Usage};
use crate::tools::{Tool, ToolChoice};

/// A top-level body field: a JSON value, or bytes serialized once up front
/// (the messages, which are most of the body and need no rewriting).
enum Field {
    Value(Value),
    Raw(Box<RawValue>),
}

/// The request body as an ordered list of top-level fields, so quirks can
/// rename and drop fields without re-serializing the messages.
struct Body(Vec<(Cow<'static, str>, Field)>);

impl Body {
    fn set(&mut self, name: impl Into<Cow<'static, str>>, value: Field) {
        let name = name.into();
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    fn apply(&mut self, quirks: &Quirks) {
        for (from, to) in quirks.rename {
            if let Some(index) = self.0.iter().position(|(key, _)| key == from) {
                // A field already sent under the target name wins.
                if self.0.iter().any(|(key, _)| key == to) {
                    self.0.remove(index);
                } else {
                    self.0[index].0 = Cow::Borrowed(to);
                }
            }
        }
        self.0
            .retain(|(key, _)| !quirks.drop.contains(&key.as_ref()));
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            match value {
                Field::Value(value) => map.serialize_entry(key, value)?,
                Field::Raw(raw) => map.serialize_entry(key, raw)?,
            }
        }
        map.end()
    }
}

/// Serializes the messages with the call's system prompt first.
struct WithSystem<'a> {
    system: Option<&'a str>,
    messages: &'a [Message],
}

impl Serialize for WithSystem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let len = self.messages.len() + usize::from(self.system.is_some());
        let mut seq = serializer.serialize_seq(Some(len))?;
        if let Some(system) = self.system {
            seq.serialize_element(&Message::system(system))?;
        }
        for message in self.messages {
            seq.serialize_element(message)?;
        }
        seq.end()
    }
}

/// Builds the chat-completions body.
pub(crate) fn body(
    resolved: &Resolved,
    messages: &[Message],
    options: &CallOptions,
    stream: bool,
) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    if messages.is_empty() && options.system.is_none() {
        return Err(invalid("no messages to send".to_owned()));
    }
    let messages = serde_json::value::to_raw_value(&WithSystem {
        system: options.system.as_deref(),
        messages,
    })
    .map_err(|error| invalid(format!("messages do not serialize: {error}")))?;
    let mut body = Body(Vec::with_capacity(8 + options.extra.len()));
    body.set(
        "model",
        Field::Value(Value::String(resolved.wire_model.clone())),
    );
    body.set("messages", Field::Raw(messages));
    if let Some(temperature) = options.temperature {
        body.set(
            "temperature",
            Field::Value(super::finite(model, "temperature", temperature)?),
        );
    }
    if let Some(top_p) = options.top_p {
        body.set("top_p", Field::Value(super::finite(model, "top_p", top_p)?));
    }
    if let Some(max_tokens) = options.max_tokens {
        body.set("max_completion_tokens", Field::Value(max_tokens.into()));
    }
    if let Some(stop) = &options.stop {
        body.set("stop", Field::Value(json!(stop)));
    }
    if let Some(seed) = options.seed {
        body.set("seed", Field::Value(seed.into()));
    }
    if let Some(format) = &options.response_format {
        let format = response_format(
            format,
            resolved.provider.quirks.json_object_as_json_schema
                || resolved.model_quirks.json_object_as_json_schema,
        );
        body.set("response_format", Field::Value(format));
    }
    if !options.tools.is_empty() {
        let tools: Vec<WireTool> = options.tools.iter().map(WireTool::from).collect();
        let tools = serde_json::value::to_raw_value(&tools)
            .map_err(|error| invalid(format!("tools do not serialize: {error}")))?;
        body.set("tools", Field::Raw(tools));
    }
    if let Some(choice) = &options.tool_choice {
        body.set("tool_choice", Field::Value(tool_choice(choice)));
    }
    if let Some(parallel) = options.parallel_tool_calls {
        body.set("parallel_tool_calls", Field::Value(Value::Bool(parallel)));
    }
    if stream {
        body.set("stream", Field::Value(Value::Bool(true)));
        body.set(
            "stream_options",
            Field::Value(json!({"include_usage": true})),
        );
    }
    for (key, value) in &options.extra {
        body.set(key.clone(), Field::Value(value.clone()));
    }
    body.apply(&resolved.provider.quirks);
    body.apply(&resolved.model_quirks);
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

/// `response_format`; JSON mode becomes a schema of any object where the
/// manifest says the server has no JSON mode.
fn response_format(format: &ResponseFormat, json_object_as_json_schema: bool) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject if json_object_as_json_schema => json!({
            "type": "json_schema",
            "json_schema": {"name": "json_object", "schema": {"type": "object"}},
        }),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema(format) => {
            let mut inner = json!({"name": format.name});
            if let Some(description) = &format.description {
                inner["description"] = json!(description);
            }
            if format.strict {
                inner["strict"] = json!(true);
            }
            inner["schema"] = format.schema.clone();
            json!({"type": "json_schema", "json_schema": inner})
        }
    }
}

/// A `tools` entry: `{"type": "function", "function": {...}}`.
#[derive(Serialize)]
pub(crate) struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionDef<'a>,
}

#[derive(Serialize)]
struct WireFunctionDef<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters: &'a Value,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    strict: bool,
}

impl<'a> From<&'a Tool> for WireTool<'a> {
    fn from(tool: &'a Tool) -> WireTool<'a> {
        WireTool {
            kind: "function",
            function: WireFunctionDef {
                name: &tool.name,
                description: tool.description.as_deref(),
                parameters: &tool.parameters,
                strict: tool.strict,
            },
        }
    }
}

/// `tool_choice`.
fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::Required => json!("required"),
        ToolChoice::None => json!("none"),
        ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

// ---- wire types (lenient: every field optional, nulls accepted) ----

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A whole message, or a stream delta: the same fields.
#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    reasoning_content: Option<String>,
    /// OpenRouter's and Ollama's name for reasoning text.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

/// Text, or typed parts (Mistral's `text` and `thinking` parts).
enum WireContent {
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
struct WirePart {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<Value>,
}

impl WireContent {
    /// Splits into (answer, reasoning).
    fn split(self) -> (Option<String>, Option<String>) {
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
fn thinking_text(value: &Value) -> String {
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
struct WireToolCall {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<WireArguments>,
}

/// Arguments as JSON text (the standard) or as a JSON object (some servers).
#[derive(Deserialize)]
#[serde(untagged)]
enum WireArguments {
    Text(String),
    Json(Value),
}

impl WireArguments {
    fn into_text(self) -> String {
        match self {
            WireArguments::Text(text) => text,
            WireArguments::Json(value) => value.to_string(),
        }
    }
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's name for cached input tokens.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
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

// ---- streaming ----
//
// The decoder of stream events is written by hand over serde's visitor API,
// not derived: it runs once per streamed chunk, and measured with callgrind
// in the benchmark suite (`llmax-bench profile 3`), the derived version
// cost about 600 instructions per chunk more than a minimal client's parse
// in moves of the intermediate structs (a `Vec` of choices, each holding a
// whole delta, then copied into a `StreamChunk`), and its code, spread over
// many monomorphized functions, missed the instruction cache several times
// more per chunk than the minimal client's. Here each choice is read
// straight into the `StreamChunk` it becomes; fields seen rarely (tool
// calls, usage, errors) still go through derived types.

/// A map key or a string value read as one of a few names, without
/// allocating: `F` maps the text (unknown names to a catch-all).
pub(super) struct Name<F>(pub fn(&str) -> F);

impl<'de, F> DeserializeSeed<'de> for Name<F> {
    type Value = F;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<F, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, F> Visitor<'de> for Name<F> {
    type Value = F;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<F, E> {
        Ok((self.0)(text))
    }
}

/// A value that may be `null`: `null` (or nothing) is `None`, else `seed`'s.
pub(super) struct Nullable<S>(pub S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// A field seen in few events (usage, tool calls, errors), read out of
/// line: its derived code stays off the per-chunk code path.
#[cold]
#[inline(never)]
pub(super) fn rare<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<T, A::Error> {
    map.next_value()
}

/// Refuses a field given twice, as derived deserializers do.
pub(super) fn once<E: serde::de::Error>(seen: &mut bool, name: &'static str) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

#[derive(Deserialize)]
struct GroqExtra {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// What an event carries besides its choices.
#[derive(Default)]
struct ChunkRest {
    usage: Option<WireUsage>,
    /// Groq puts the usage of a stream here.
    groq_usage: Option<WireUsage>,
    /// An error reported inside a 200 stream.
    error: Option<Value>,
}

enum ChunkField {
    Choices,
    Usage,
    XGroq,
    Error,
    Other,
}

impl ChunkField {
    fn of(name: &str) -> ChunkField {
        match name {
            "choices" => ChunkField::Choices,
            "usage" => ChunkField::Usage,
            "x_groq" => ChunkField::XGroq,
            "error" => ChunkField::Error,
            _ => ChunkField::Other,
        }
    }
}

/// One event: its choices become chunks in `out`, the rest goes to `rest`.
struct ChunkSeed<'a> {
    tool_ids: &'a mut HashMap<u32, Vec<String>>,
    out: &'a mut Vec<StreamChunk>,
    rest: &'a mut ChunkRest,
}

impl<'de> DeserializeSeed<'de> for ChunkSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChunkSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a chat completion chunk")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ChunkSeed {
            tool_ids,
            out,
            rest,
        } = self;
        let mut seen = [false; 4];
        while let Some(field) = map.next_key_seed(Name(ChunkField::of))? {
            match field {
                ChunkField::Choices => {
                    once(&mut seen[0], "choices")?;
                    map.next_value_seed(Nullable(Choices {
                        tool_ids: &mut *tool_ids,
                        out: &mut *out,
                    }))?;
                }
                ChunkField::Usage => {
                    once(&mut seen[1], "usage")?;
                    rest.usage = rare(&mut map)?;
                }
                ChunkField::XGroq => {
                    once(&mut seen[2], "x_groq")?;
                    let extra: Option<GroqExtra> = rare(&mut map)?;
                    rest.groq_usage = extra.and_then(|extra| extra.usage);
                }
                ChunkField::Error => {
                    once(&mut seen[3], "error")?;
                    rest.error = rare(&mut map)?;
                }
                ChunkField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `choices` list.
struct Choices<'a> {
    tool_ids: &'a mut HashMap<u32, Vec<String>>,
    out: &'a mut Vec<StreamChunk>,
}

impl<'de> DeserializeSeed<'de> for Choices<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Choices<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of choices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut position = 0;
        while let Some(choice) = seq.next_element_seed(ChoiceSeed)? {
            let index = choice.index.unwrap_or(position);
            position += 1;
            let item = choice.into_chunk(index, self.tool_ids);
            if !item.is_empty() {
                self.out.push(item);
            }
        }
        Ok(())
    }
}

/// A choice of an event, as read.
#[derive(Default)]
struct WireChunkChoice {
    index: Option<u32>,
    finish_reason: Option<FinishReason>,
    content: Option<WireContent>,
    reasoning_content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<WireToolCall>>,
}

impl WireChunkChoice {
    fn into_chunk(self, index: u32, tool_ids: &mut HashMap<u32, Vec<String>>) -> StreamChunk {
        let (content, parts_reasoning) = match self.content {
            Some(WireContent::Text(text)) => (Some(text), None),
            Some(parts) => parts.split(),
            None => (None, None),
        };
        StreamChunk {
            index,
            content: non_empty(content),
            reasoning: non_empty(
                self.reasoning_content
                    .or(self.reasoning)
                    .or(parts_reasoning),
            ),
            refusal: non_empty(self.refusal),
            tool_calls: match self.tool_calls {
                Some(calls) => tool_deltas(calls, index, tool_ids),
                None => Vec::new(),
            },
            finish_reason: self.finish_reason,
            ..StreamChunk::default()
        }
    }
}

/// A choice's tool-call fragments, out of the per-chunk code path.
#[cold]
#[inline(never)]
fn tool_deltas(
    calls: Vec<WireToolCall>,
    choice: u32,
    tool_ids: &mut HashMap<u32, Vec<String>>,
) -> Vec<ToolCallDelta> {
    calls
        .into_iter()
        .enumerate()
        .map(|(n, call)| {
            let index = tool_index(tool_ids, choice, n, &call);
            let (name, arguments) = match call.function {
                Some(function) => (
                    function.name,
                    function.arguments.map(WireArguments::into_text),
                ),
                None => (None, None),
            };
            ToolCallDelta {
                index,
                id: call.id,
                name,
                arguments: non_empty(arguments),
            }
        })
        .collect()
}

enum ChoiceField {
    Index,
    Delta,
    FinishReason,
    Other,
}

impl ChoiceField {
    fn of(name: &str) -> ChoiceField {
        match name {
            "index" => ChoiceField::Index,
            "delta" => ChoiceField::Delta,
            "finish_reason" => ChoiceField::FinishReason,
            _ => ChoiceField::Other,
        }
    }
}

struct ChoiceSeed;

impl<'de> DeserializeSeed<'de> for ChoiceSeed {
    type Value = WireChunkChoice;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChoiceSeed {
    type Value = WireChunkChoice;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a choice")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut choice = WireChunkChoice::default();
        let mut seen = [false; 3];
        while let Some(field) = map.next_key_seed(Name(ChoiceField::of))? {
            match field {
                ChoiceField::Index => {
                    once(&mut seen[0], "index")?;
                    choice.index = map.next_value()?;
                }
                ChoiceField::Delta => {
                    once(&mut seen[1], "delta")?;
                    map.next_value_seed(Nullable(DeltaSeed(&mut choice)))?;
                }
                ChoiceField::FinishReason => {
                    once(&mut seen[2], "finish_reason")?;
                    choice.finish_reason =
                        map.next_value_seed(Nullable(Name(FinishReason::from_wire)))?;
                }
                ChoiceField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(choice)
    }
}

enum DeltaField {
    Content,
    ReasoningContent,
    Reasoning,
    Refusal,
    ToolCalls,
    Other,
}

impl DeltaField {
    fn of(name: &str) -> DeltaField {
        match name {
            "content" => DeltaField::Content,
            "reasoning_content" => DeltaField::ReasoningContent,
            // OpenRouter's and Ollama's name for reasoning text.
            "reasoning" => DeltaField::Reasoning,
            "refusal" => DeltaField::Refusal,
            "tool_calls" => DeltaField::ToolCalls,
            _ => DeltaField::Other,
        }
    }
}

/// A choice's `delta`, read into the choice.
struct DeltaSeed<'a>(&'a mut WireChunkChoice);

impl<'de> DeserializeSeed<'de> for DeltaSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DeltaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a delta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let choice = self.0;
        let mut seen = [false; 5];
        while let Some(field) = map.next_key_seed(Name(DeltaField::of))? {
            match field {
                DeltaField::Content => {
                    once(&mut seen[0], "content")?;
                    choice.content = map.next_value()?;
                }
                DeltaField::ReasoningContent => {
                    once(&mut seen[1], "reasoning_content")?;
                    choice.reasoning_content = map.next_value()?;
                }
                DeltaField::Reasoning => {
                    once(&mut seen[2], "reasoning")?;
                    choice.reasoning = map.next_value()?;
                }
                DeltaField::Refusal => {
                    once(&mut seen[3], "refusal")?;
                    choice.refusal = map.next_value()?;
                }
                DeltaField::ToolCalls => {
                    once(&mut seen[4], "tool_calls")?;
                    choice.tool_calls = rare(&mut map)?;
                }
                DeltaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes an OpenAI-protocol stream.
pub(crate) struct Decoder {
    provider: &'static str,
    usage: Option<Usage>,
    /// Tool-call ids seen per choice, to give calls without an `index`
    /// (Mistral) a stable one.
    tool_ids: HashMap<u32, Vec<String>>,
}

impl Decoder {
    pub fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            tool_ids: HashMap::new(),
        }
    }
}

fn tool_index(
    tool_ids: &mut HashMap<u32, Vec<String>>,
    choice: u32,
    position: usize,
    call: &WireToolCall,
) -> u32 {
    if let Some(index) = call.index {
        return index;
    }
    let ids = tool_ids.entry(choice).or_default();
    match &call.id {
        Some(id) => match ids.iter().position(|seen| seen == id) {
            Some(known) => known as u32,
            None => {
                ids.push(id.clone());
                (ids.len() - 1) as u32
            }
        },
        // No index and no id: a continuation of the latest call.
        None => ids.len().saturating_sub(1).max(position) as u32,
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, _event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        // JSON's whitespace is ASCII: no need for `trim`'s Unicode tables.
        let data = data.trim_ascii();
        if data == "[DONE]" {
            return Ok(Flow::Done);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let first = out.len();
        let mut rest = ChunkRest::default();
        let mut deserializer = serde_json::Deserializer::from_str(data);
        let parsed = ChunkSeed {
            tool_ids: &mut self.tool_ids,
            out,
            rest: &mut rest,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if let Err(error) = parsed {
            out.truncate(first);
            return Err(Error::decode(
                self.provider,
                error.to_string(),
                data.as_bytes(),
            ));
        }
        if let Some(error) = rest.error {
            out.truncate(first);
            let body = json!({ "error": error }).to_string();
            return Err(super::errors::from_event(self.provider, &body).into());
        }
        let usage = rest.usage.or(rest.groq_usage).map(Usage::from);
        if let Some(usage) = usage {
            self.usage = Some(usage);
            // Usage rides on the last chunk of this event, or on a chunk of
            // its own when the event has no choices (OpenAI's final chunk).
            match out.get_mut(first..).and_then(|new| new.last_mut()) {
                Some(last) => last.usage = Some(usage),
                None => out.push(StreamChunk {
                    usage: Some(usage),
                    ..StreamChunk::default()
                }),
            }
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistral_thinking_parts_are_kept_apart_from_the_answer() {
        let body = br#"{"choices":[{"message":{"content":[
            {"type":"thinking","thinking":[{"type":"text","text":"Two and two..."}]},
            {"type":"text","text":"Four."}
        ]},"finish_reason":"stop"}]}"#;
        let parsed = parse("mistral", body).unwrap();
        let message = &parsed.choices[0].message;
        assert_eq!(message.content.as_deref(), Some("Four."));
        assert_eq!(message.reasoning.as_deref(), Some("Two and two..."));
    }

    #[test]
    fn content_of_the_wrong_type_is_a_decode_error() {
        let error = parse("openai", br#"{"choices":[{"message":{"content":42}}]}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a string or a list of content parts"),
            "{error}"
        );
    }

    fn decoded(events: &[&str]) -> Result<Vec<StreamChunk>> {
        let mut decoder = Decoder::new("openai");
        let mut out = Vec::new();
        for event in events {
            decoder.decode("message", event, &mut out)?;
        }
        Ok(out)
    }

    #[test]
    fn stream_events_read_by_hand_as_the_derived_types_did() {
        // Nulls, unknown fields, escapes, several choices, usage without
        // choices, whitespace around the data.
        let chunks = decoded(&[
            r#" {"id":"x","choices":[{"index":1,"delta":{"role":"assistant","content":"a\"b","refusal":null},"logprobs":null,"finish_reason":null},
                {"delta":null,"finish_reason":"st\u006fp"}],"usage":null} "#,
            r#"{"choices":null,"x_groq":{"usage":{"prompt_tokens":3,"completion_tokens":4}}}"#,
            r#"{"choices":[{"delta":{"reasoning":"r","reasoning_content":"rc","content":[{"type":"thinking","thinking":"t"}]}}]}"#,
        ])
        .unwrap();
        assert_eq!(chunks.len(), 4);
        assert_eq!(
            (chunks[0].index, chunks[0].content.as_deref()),
            (1, Some("a\"b"))
        );
        assert_eq!(
            (chunks[1].index, &chunks[1].finish_reason),
            (1, &Some(FinishReason::Stop))
        );
        assert_eq!(chunks[2].usage.map(|usage| usage.output_tokens), Some(4));
        assert_eq!(chunks[3].reasoning.as_deref(), Some("rc"));
        // Tool calls without an index (Mistral) keep one per id.
        let chunks = decoded(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":{"x":1}}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}"#,
        ])
        .unwrap();
        let calls: Vec<_> = chunks.iter().map(|chunk| &chunk.tool_calls[0]).collect();
        assert_eq!(
            calls.iter().map(|call| call.index).collect::<Vec<_>>(),
            [0, 1, 1]
        );
        assert_eq!(calls[1].arguments.as_deref(), Some(r#"{"x":1}"#));
        // Errors: in the stream, of JSON, of types, of duplicates; no chunk
        // of a failed event is kept.
        let error = decoded(&[
            r#"{"choices":[{"delta":{"content":"x"}}],"error":{"message":"overloaded","type":"server_error"}}"#,
        ]);
        assert!(matches!(error, Err(Error::Provider(_))), "{error:?}");
        for bad in [
            r#"{"choices":[{"delta":{"content":"x"}}],"#,
            r#"{"choices":[{"delta":{"content":"x"}}]} {}"#,
            r#"{"choices":[{"index":"0"}]}"#,
            r#"{"choices":[{"delta":{"content":"x"},"delta":{}}]}"#,
            r#"[]"#,
        ] {
            let mut decoder = Decoder::new("openai");
            let mut out = Vec::new();
            let error = decoder.decode("message", bad, &mut out);
            assert!(
                matches!(error, Err(Error::Decode { .. })),
                "{bad}: {error:?}"
            );
            assert!(out.is_empty(), "{bad}");
        }
        assert_eq!(
            Decoder::new("openai")
                .decode("", " [DONE]\n", &mut Vec::new())
                .unwrap(),
            Flow::Done
        );
    }
}
