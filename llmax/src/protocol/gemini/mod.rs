//! Google Gemini's native protocol (`POST {base}/models/{model}:generateContent`
//! and `:streamGenerateContent?alt=sse`), spoken by the Gemini API and by
//! Vertex AI.
//!
//! llmax's messages and options are OpenAI-shaped; this adapter translates
//! them so that switching a deployment from `gpt-4o` to `gemini-2.5-flash`
//! changes nothing in the caller's code:
//!
//! - system and developer messages, and the `system` option, become
//!   `systemInstruction`;
//! - messages become `contents` of `parts`, the assistant's role is
//!   `model`, tool results are `functionResponse` parts of a `user` turn,
//!   and consecutive turns of one role are merged, as the API requires;
//! - image and audio parts become `inlineData` (`data:` URLs and base64
//!   audio) or `fileData` (any other URL: `gs://`, the Files API, HTTPS);
//! - assistant tool calls become `functionCall` parts **with the thought
//!   signature they came with**: Gemini 3 refuses a tool loop whose calls
//!   come back without theirs;
//! - the sampling options, the answer's shape (`responseMimeType` with
//!   `responseJsonSchema`, or the OpenAPI-subset `responseSchema` for a
//!   model the manifest does not mark `json_schema`) and
//!   [`Thinking`](crate::Thinking) go into `generationConfig`;
//! - tools become `functionDeclarations`, tool choice `toolConfig`;
//! - `extra` fields are sent as they are, at the top level; an extra
//!   `generationConfig` object is merged into llmax's, its fields winning.
//!
//! Responses are in `response.rs`, streams in `stream.rs`, embeddings in
//! `embeddings.rs`.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Flow, Parsed, StreamDecoder};
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::message::{Content, ContentPart, Message, ToolCall};
use crate::options::{CallOptions, ResponseFormat, Thinking, ThinkingLevel};
use crate::tools::ToolChoice;

/// The prefix of the tool-call ids llmax makes up when Gemini gives none:
/// such ids are never sent back (Gemini matches calls and results by
/// name and order then).
pub(crate) const LOCAL_ID_PREFIX: &str = "llmax-call-";

/// The path of a whole chat under the base URL.
pub(crate) fn chat_path(model: &str) -> String {
    format!("/{}:generateContent", model_path(model))
}

/// The path of a streamed chat: Server-Sent Events with `alt=sse`.
pub(crate) fn stream_path(model: &str) -> String {
    format!("/{}:streamGenerateContent?alt=sse", model_path(model))
}

/// `models/{model}`, unless the name is already a resource path
/// (`models/...`, `tunedModels/...`).
pub(crate) fn model_path(model: &str) -> Cow<'_, str> {
    if model.starts_with("models/") || model.starts_with("tunedModels/") {
        Cow::Borrowed(model)
    } else {
        Cow::Owned(format!("models/{model}"))
    }
}

// ---- the request body ----

/// `Content`: a turn.
#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    parts: Vec<Part<'a>>,
}

/// `systemInstruction`.
#[derive(Serialize)]
struct System<'a> {
    parts: Vec<Part<'a>>,
}

/// A `Part`, borrowed from the caller's messages.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_data: Option<Blob<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_data: Option<FileData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_call: Option<WireCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_response: Option<WireResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'a str>,
}

impl<'a> Part<'a> {
    fn text(text: Cow<'a, str>) -> Part<'a> {
        Part {
            text: Some(text),
            ..Part::default()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob<'a> {
    mime_type: Cow<'a, str>,
    data: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    mime_type: Option<&'static str>,
    file_uri: &'a str,
}

#[derive(Serialize)]
struct WireCall<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    args: Args<'a>,
}

/// A call's arguments: the caller's JSON object as it is, or `{}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Args<'a> {
    Raw(&'a RawValue),
    Empty(Map<String, Value>),
}

#[derive(Serialize)]
struct WireResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    response: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireTool<'a> {
    function_declarations: Vec<Declaration<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Declaration<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    /// JSON Schema, for models that read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters_json_schema: Option<&'a Value>,
    /// The OpenAPI subset, for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    function_calling_config: CallingConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallingConfig<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_function_names: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_thoughts: Option<bool>,
}

/// The request, borrowing what it can.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contents: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<System<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<[WireTool<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    generation_config: Map<String, Value>,
    /// The caller's other fields, at the top level.
    #[serde(flatten)]
    extra: Extra<'a>,
}

/// Builds the `generateContent` body (the same for a stream: the endpoint
/// says it).
pub(crate) fn body(
    resolved: &Resolved,
    messages: &[Message],
    options: &CallOptions,
    _stream: bool,
) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    // Models without the manifest's `json_schema` capability read schemas
    // in the OpenAPI subset only (`parameters`, `responseSchema`).
    let json_schema = resolved.model.capabilities.json_schema;

    let mut system: Vec<Part> = Vec::new();
    // The bytes of text the body carries, for its buffer's size.
    let mut text_len = 0;
    if let Some(text) = &options.system {
        text_len += text.len();
        system.push(Part::text(Cow::Borrowed(text)));
    }
    let mut contents: Vec<Turn> = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        text_len += message_len(message);
        let mut parts = Vec::new();
        let role = match message {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                system.push(Part::text(text_of(content)));
                continue;
            }
            Message::User { content, .. } => {
                content_parts(content, &mut parts, &invalid)?;
                "user"
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                if let Some(content) = content {
                    content_parts(content, &mut parts, &invalid)?;
                }
                for call in tool_calls {
                    parts.push(call_part(call, &invalid)?);
                }
                "model"
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                let name = called_name(&messages[..index], tool_call_id).ok_or_else(|| {
                    invalid(format!(
                        "tool result `{tool_call_id}` answers no earlier tool call: Gemini needs the \
                         function's name"
                    ))
                })?;
                parts.push(Part {
                    function_response: Some(WireResult {
                        id: sent_id(tool_call_id),
                        name,
                        response: result_object(content),
                    }),
                    ..Part::default()
                });
                "user"
            }
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(turn) if turn.role == role => turn.parts.append(&mut parts),
            _ => contents.push(Turn { role, parts }),
        }
    }
    if contents.is_empty() {
        return Err(invalid("no user or assistant message to send".to_owned()));
    }

    let mut config = Map::new();
    if let Some(temperature) = options.temperature {
        config.insert(
            "temperature".into(),
            super::finite(model, "temperature", temperature)?,
        );
    }
    if let Some(top_p) = options.top_p {
        config.insert("topP".into(), super::finite(model, "top_p", top_p)?);
    }
    if let Some(max_tokens) = options.max_tokens {
        config.insert("maxOutputTokens".into(), max_tokens.into());
    }
    if let Some(stop) = &options.stop {
        config.insert("stopSequences".into(), stop.clone().into());
    }
    if let Some(seed) = options.seed {
        // Gemini's seed is an int32.
        let seed = i32::try_from(seed)
            .map_err(|_| invalid(format!("Gemini's seed is a 32-bit integer, not {seed}")))?;
        config.insert("seed".into(), seed.into());
    }
    match &options.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema(format)) => {
            config.insert("responseMimeType".into(), "application/json".into());
            if json_schema {
                config.insert("responseJsonSchema".into(), format.schema.clone());
            } else {
                config.insert("responseSchema".into(), openapi_schema(&format.schema));
            }
        }
    }
    if let Some(thinking) = options.thinking {
        config.insert("thinkingConfig".into(), thinking_config(thinking));
    }

    let tools = (!options.tools.is_empty()).then(|| {
        [WireTool {
            function_declarations: options
                .tools
                .iter()
                .map(|tool| Declaration {
                    name: &tool.name,
                    description: tool.description.as_deref(),
                    parameters_json_schema: json_schema.then_some(&tool.parameters),
                    parameters: (!json_schema).then(|| openapi_schema(&tool.parameters)),
                })
                .collect(),
        }]
    });
    let tool_config = options.tool_choice.as_ref().map(|choice| {
        let (mode, name) = match choice {
            ToolChoice::Auto => ("AUTO", None),
            ToolChoice::Required => ("ANY", None),
            ToolChoice::None => ("NONE", None),
            ToolChoice::Named(name) => ("ANY", Some([name.as_str()])),
        };
        ToolConfig {
            function_calling_config: CallingConfig {
                mode,
                allowed_function_names: name,
            },
        }
    });
    if options.parallel_tool_calls.is_some() {
        tracing::warn!(
            model,
            option = "parallel_tool_calls",
            "llmax: option not supported by Gemini, dropped"
        );
    }

    let extra = &options.extra;
    match extra.get("generationConfig") {
        None => {}
        Some(Value::Object(more)) => config.extend(more.clone()),
        Some(other) => {
            return Err(invalid(format!(
                "extra `generationConfig` must be an object, not {other}"
            )));
        }
    }
    let mut body = Body {
        contents,
        system_instruction: (!system.is_empty()).then_some(System { parts: system }),
        tools,
        tool_config,
        generation_config: config,
        extra: Extra(extra),
    };
    // The caller's fields win over llmax's.
    if !extra.is_empty() {
        for key in ["contents", "systemInstruction", "tools", "toolConfig"] {
            if extra.contains_key(key) {
                match key {
                    "contents" => body.contents.clear(),
                    "systemInstruction" => body.system_instruction = None,
                    "tools" => body.tools = None,
                    _ => body.tool_config = None,
                }
            }
        }
    }
    // Sized once for the texts it carries: no regrowth while writing.
    let mut out = Vec::with_capacity(BODY_OVERHEAD + text_len);
    serde_json::to_writer(&mut out, &body)
        .map_err(|error| invalid(format!("body does not serialize: {error}")))?;
    Ok(out)
}

/// What a body holds beyond its texts' bytes, for the buffer's first size:
/// the keys and punctuation of a short conversation.
const BODY_OVERHEAD: usize = 160;

/// The caller's `extra` fields, at the top level: borrowed, not cloned,
/// less the `generationConfig` object merged into llmax's.
struct Extra<'a>(&'a Map<String, Value>);

impl Serialize for Extra<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0 {
            if key != "generationConfig" {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

fn thinking_config(thinking: Thinking) -> Value {
    let level = |level| match level {
        ThinkingLevel::Minimal => "MINIMAL",
        ThinkingLevel::Low => "LOW",
        ThinkingLevel::Medium => "MEDIUM",
        ThinkingLevel::High => "HIGH",
    };
    let config = match thinking {
        Thinking::Off => ThinkingConfig {
            thinking_budget: Some(0),
            thinking_level: None,
            include_thoughts: None,
        },
        Thinking::Dynamic => ThinkingConfig {
            thinking_budget: Some(-1),
            thinking_level: None,
            include_thoughts: Some(true),
        },
        Thinking::Budget(budget) => ThinkingConfig {
            thinking_budget: Some(i64::from(budget)),
            thinking_level: None,
            include_thoughts: Some(true),
        },
        Thinking::Level(value) => ThinkingConfig {
            thinking_budget: None,
            thinking_level: Some(level(value)),
            include_thoughts: Some(true),
        },
    };
    // A plain struct of numbers and strings always serializes.
    serde_json::to_value(config).unwrap_or(Value::Null)
}

/// About the bytes a message adds to the body beyond its keys: its texts,
/// media, calls and results.
fn message_len(message: &Message) -> usize {
    let content_len = |content: &Content| match content {
        Content::Text(text) => text.len(),
        Content::Parts(items) => items
            .iter()
            .map(|item| match item {
                ContentPart::Text { text } => text.len(),
                ContentPart::ImageUrl { image_url } => image_url.url.len() + 32,
                ContentPart::InputAudio { input_audio } => input_audio.data.len() + 32,
            })
            .sum(),
    };
    match message {
        Message::System { content, .. }
        | Message::Developer { content, .. }
        | Message::User { content, .. } => content_len(content),
        Message::Assistant {
            content,
            tool_calls,
            ..
        } => {
            content.as_ref().map_or(0, content_len)
                + tool_calls
                    .iter()
                    .map(|call| {
                        call.function.name.len()
                            + call.function.arguments.len()
                            + call.id.len()
                            + call.thought_signature.as_ref().map_or(0, String::len)
                            + 64
                    })
                    .sum::<usize>()
        }
        Message::Tool {
            content,
            tool_call_id,
        } => content_len(content) + tool_call_id.len() + 64,
    }
}

/// The text of a content, borrowed when it is plain text.
fn text_of(content: &Content) -> Cow<'_, str> {
    match content {
        Content::Text(text) => Cow::Borrowed(text),
        Content::Parts(_) => Cow::Owned(content.text()),
    }
}

fn content_parts<'a>(
    content: &'a Content,
    parts: &mut Vec<Part<'a>>,
    invalid: &impl Fn(String) -> Error,
) -> Result<()> {
    match content {
        Content::Text(text) if text.is_empty() => {}
        Content::Text(text) => parts.push(Part::text(Cow::Borrowed(text))),
        Content::Parts(items) => {
            for item in items {
                parts.push(match item {
                    ContentPart::Text { text } => Part::text(Cow::Borrowed(text)),
                    ContentPart::ImageUrl { image_url } => media_part(&image_url.url),
                    ContentPart::InputAudio { input_audio } => {
                        let mime_type = match input_audio.format.as_str() {
                            "" => return Err(invalid("an audio part without a format".to_owned())),
                            "mp3" | "mpeg" => Cow::Borrowed("audio/mp3"),
                            format => Cow::Owned(format!("audio/{format}")),
                        };
                        Part {
                            inline_data: Some(Blob {
                                mime_type,
                                data: &input_audio.data,
                            }),
                            ..Part::default()
                        }
                    }
                });
            }
        }
    }
    Ok(())
}

/// `data:<mime>;base64,<data>` as inline data; any other URL (`gs://`,
/// the Files API, HTTPS) as file data, its MIME type guessed from the
/// extension where it can be.
fn media_part(url: &str) -> Part<'_> {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(mime_type) = meta.strip_suffix(";base64")
    {
        return Part {
            inline_data: Some(Blob {
                mime_type: Cow::Borrowed(mime_type),
                data,
            }),
            ..Part::default()
        };
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let mime_type = match extension.as_deref() {
        Some("png") => Some("image/png"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("webp") => Some("image/webp"),
        Some("gif") => Some("image/gif"),
        Some("heic") => Some("image/heic"),
        Some("pdf") => Some("application/pdf"),
        Some("wav") => Some("audio/wav"),
        Some("mp3") => Some("audio/mp3"),
        Some("flac") => Some("audio/flac"),
        Some("mp4") => Some("video/mp4"),
        _ => None,
    };
    Part {
        file_data: Some(FileData {
            mime_type,
            file_uri: url,
        }),
        ..Part::default()
    }
}

/// An id as sent: the ids llmax made up stay home.
fn sent_id(id: &str) -> Option<&str> {
    (!id.is_empty() && !id.starts_with(LOCAL_ID_PREFIX)).then_some(id)
}

fn call_part<'a>(call: &'a ToolCall, invalid: &impl Fn(String) -> Error) -> Result<Part<'a>> {
    let arguments = call.function.arguments.trim();
    let args = if arguments.is_empty() {
        Args::Empty(Map::new())
    } else {
        let raw: &RawValue = serde_json::from_str(arguments).map_err(|error| {
            invalid(format!(
                "the arguments of tool call `{}` are not JSON: {error}",
                call.id
            ))
        })?;
        if !raw.get().starts_with('{') {
            return Err(invalid(format!(
                "the arguments of tool call `{}` are not a JSON object",
                call.id
            )));
        }
        Args::Raw(raw)
    };
    Ok(Part {
        function_call: Some(WireCall {
            id: sent_id(&call.id),
            name: &call.function.name,
            args,
        }),
        thought_signature: call.thought_signature.as_deref(),
        ..Part::default()
    })
}

/// The name of the function an earlier assistant message called with `id`.
fn called_name<'a>(earlier: &'a [Message], id: &str) -> Option<&'a str> {
    earlier.iter().rev().find_map(|message| match message {
        Message::Assistant { tool_calls, .. } => tool_calls
            .iter()
            .find(|call| call.id == id)
            .map(|call| call.function.name.as_str()),
        _ => None,
    })
}

/// A tool's result as `functionResponse.response`, which must be an
/// object: a JSON object stays as it is, anything else is wrapped as
/// `{"result": ...}`.
fn result_object(content: &Content) -> Value {
    let text = text_of(content);
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(other) => serde_json::json!({ "result": other }),
        Err(_) => serde_json::json!({ "result": text }),
    }
}

/// A JSON Schema in the OpenAPI 3.0 subset of `responseSchema` and
/// `parameters`: `$ref`s inlined (from `$defs`/`definitions`), nullable
/// type lists as `nullable`, `const` as a one-value `enum`, and the
/// keywords the subset does not know dropped.
pub(crate) fn openapi_schema(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    convert(schema, &defs, 0)
}

/// Keywords of the OpenAPI subset kept as they are (the others are
/// converted below or dropped).
const KEPT: &[&str] = &[
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "minimum",
    "maximum",
    "default",
    "propertyOrdering",
];

fn convert(schema: &Value, defs: &Value, depth: usize) -> Value {
    // A recursive schema cannot be inlined: it is cut, deep down, to "any
    // object" rather than looping.
    if depth > 32 {
        return serde_json::json!({ "type": "OBJECT" });
    }
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or_default();
        if let Some(found) = defs.get(name) {
            return convert(found, defs, depth + 1);
        }
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let real: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    if real.len() < types.len() {
                        out.insert("nullable".into(), true.into());
                    }
                    if let Some(first) = real.first() {
                        out.insert("type".into(), upper(first));
                    }
                }
                other => {
                    out.insert("type".into(), upper(other));
                }
            },
            "const" => {
                out.insert("enum".into(), Value::Array(vec![value.clone()]));
            }
            "properties" => {
                if let Some(properties) = value.as_object() {
                    let converted = properties
                        .iter()
                        .map(|(name, schema)| (name.clone(), convert(schema, defs, depth + 1)))
                        .collect();
                    out.insert("properties".into(), Value::Object(converted));
                }
            }
            "items" => {
                out.insert("items".into(), convert(value, defs, depth + 1));
            }
            "anyOf" | "oneOf" => {
                let variants: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|variant| variant.get("type").and_then(Value::as_str) != Some("null"))
                    .map(|variant| convert(variant, defs, depth + 1))
                    .collect();
                let nullable = value
                    .as_array()
                    .is_some_and(|all| all.len() > variants.len());
                if nullable {
                    out.insert("nullable".into(), true.into());
                }
                if let [only] = variants.as_slice()
                    && let Some(only) = only.as_object()
                {
                    out.extend(only.clone());
                } else {
                    out.insert("anyOf".into(), Value::Array(variants));
                }
            }
            "required" => {
                out.insert("required".into(), value.clone());
            }
            key if KEPT.contains(&key) => {
                out.insert(key.to_owned(), value.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn upper(kind: &Value) -> Value {
    match kind.as_str() {
        Some(kind) => Value::String(kind.to_ascii_uppercase()),
        None => kind.clone(),
    }
}

pub(crate) mod embeddings;
mod response;
mod stream;
#[cfg(test)]
mod tests;

pub(crate) use response::parse;
pub(crate) use stream::Decoder;
