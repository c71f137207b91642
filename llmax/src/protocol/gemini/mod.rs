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

/// Whose a part is: the system instruction's, or a turn's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    System,
    User,
    Model,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Model => "model",
            Role::User | Role::System => "user",
        }
    }
}

/// Every part of the request, in the order of the messages, each with its
/// role: one allocation for the whole conversation, instead of a `Vec` per
/// message, one of turns and one of system parts.
struct Parts<'a>(Vec<(Role, Part<'a>)>);

impl Parts<'_> {
    /// Whether any part goes into `contents`.
    fn has_turns(&self) -> bool {
        self.0.iter().any(|(role, _)| *role != Role::System)
    }

    fn has_system(&self) -> bool {
        self.0.iter().any(|(role, _)| *role == Role::System)
    }
}

/// `contents`: the turns, consecutive parts of one role merged into one
/// turn (system parts between them do not split it), as the API requires.
struct Contents<'x, 'a>(&'x [(Role, Part<'a>)]);

impl Serialize for Contents<'_, '_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(None)?;
        let mut rest = self.0;
        while let Some(start) = rest.iter().position(|(role, _)| *role != Role::System) {
            let role = rest[start].0;
            // The turn runs until a part of the other role.
            let len = rest[start..]
                .iter()
                .position(|(other, _)| *other != role && *other != Role::System)
                .unwrap_or(rest.len() - start);
            seq.serialize_element(&Turn {
                role: role.name(),
                parts: Only(&rest[start..start + len], role),
            })?;
            rest = &rest[start + len..];
        }
        seq.end()
    }
}

/// The parts of one role among some.
struct Only<'x, 'a>(&'x [(Role, Part<'a>)], Role);

impl Serialize for Only<'_, '_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.0
                .iter()
                .filter(|(role, _)| *role == self.1)
                .map(|(_, part)| part),
        )
    }
}

/// `Content`: a turn.
#[derive(Serialize)]
struct Turn<'x, 'a> {
    role: &'static str,
    parts: Only<'x, 'a>,
}

/// `systemInstruction`.
#[derive(Serialize)]
struct System<'x, 'a> {
    parts: Only<'x, 'a>,
}

/// A `Part`, borrowed from the caller's messages: each holds one thing.
enum Part<'a> {
    Text(Cow<'a, str>),
    InlineData(Blob<'a>),
    FileData(FileData<'a>),
    /// A call, with the thought signature it came with.
    FunctionCall(WireCall<'a>, Option<&'a str>),
    /// Boxed: rare, and much larger than the others.
    FunctionResponse(Box<WireResult<'a>>),
}

impl Serialize for Part<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Part::Text(text) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("text", text)?;
                map.end()
            }
            Part::InlineData(blob) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("inlineData", blob)?;
                map.end()
            }
            Part::FileData(file) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("fileData", file)?;
                map.end()
            }
            Part::FunctionCall(call, signature) => {
                let mut map =
                    serializer.serialize_map(Some(1 + usize::from(signature.is_some())))?;
                map.serialize_entry("functionCall", call)?;
                if let Some(signature) = signature {
                    map.serialize_entry("thoughtSignature", signature)?;
                }
                map.end()
            }
            Part::FunctionResponse(result) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("functionResponse", result)?;
                map.end()
            }
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
enum Args<'a> {
    Raw(&'a RawValue),
    Empty,
}

impl Serialize for Args<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Args::Raw(raw) => raw.serialize(serializer),
            Args::Empty => serializer.collect_map(std::iter::empty::<((), ())>()),
        }
    }
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
struct Body<'x, 'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    contents: Option<Contents<'x, 'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<System<'x, 'a>>,
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

    // A part per message, and one for the `system` option, in most calls.
    let mut parts = Parts(Vec::with_capacity(messages.len() + 1));
    // The bytes of text the body carries, for its buffer's size.
    let mut text_len = 0;
    if let Some(text) = &options.system {
        text_len += text.len();
        parts
            .0
            .push((Role::System, Part::Text(Cow::Borrowed(text))));
    }
    for (index, message) in messages.iter().enumerate() {
        text_len += message_len(message);
        match message {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                parts.0.push((Role::System, Part::Text(text_of(content))));
            }
            Message::User { content, .. } => {
                content_parts(content, Role::User, &mut parts.0, &invalid)?;
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                if let Some(content) = content {
                    content_parts(content, Role::Model, &mut parts.0, &invalid)?;
                }
                for call in tool_calls {
                    parts.0.push((Role::Model, call_part(call, &invalid)?));
                }
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
                parts.0.push((
                    Role::User,
                    Part::FunctionResponse(Box::new(WireResult {
                        id: sent_id(tool_call_id),
                        name,
                        response: result_object(content),
                    })),
                ));
            }
        }
    }
    if !parts.has_turns() {
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
        contents: Some(Contents(&parts.0)),
        system_instruction: parts.has_system().then(|| System {
            parts: Only(&parts.0, Role::System),
        }),
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
                    "contents" => body.contents = None,
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
    role: Role,
    parts: &mut Vec<(Role, Part<'a>)>,
    invalid: &impl Fn(String) -> Error,
) -> Result<()> {
    match content {
        Content::Text(text) if text.is_empty() => {}
        Content::Text(text) => parts.push((role, Part::Text(Cow::Borrowed(text)))),
        Content::Parts(items) => {
            for item in items {
                let part = match item {
                    ContentPart::Text { text } => Part::Text(Cow::Borrowed(text)),
                    ContentPart::ImageUrl { image_url } => media_part(&image_url.url),
                    ContentPart::InputAudio { input_audio } => {
                        let mime_type = match input_audio.format.as_str() {
                            "" => return Err(invalid("an audio part without a format".to_owned())),
                            "mp3" | "mpeg" => Cow::Borrowed("audio/mp3"),
                            format => Cow::Owned(format!("audio/{format}")),
                        };
                        Part::InlineData(Blob {
                            mime_type,
                            data: &input_audio.data,
                        })
                    }
                };
                parts.push((role, part));
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
        return Part::InlineData(Blob {
            mime_type: Cow::Borrowed(mime_type),
            data,
        });
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
    Part::FileData(FileData {
        mime_type,
        file_uri: url,
    })
}

/// An id as sent: the ids llmax made up stay home.
fn sent_id(id: &str) -> Option<&str> {
    (!id.is_empty() && !id.starts_with(LOCAL_ID_PREFIX)).then_some(id)
}

fn call_part<'a>(call: &'a ToolCall, invalid: &impl Fn(String) -> Error) -> Result<Part<'a>> {
    let arguments = call.function.arguments.trim();
    let args = if arguments.is_empty() {
        Args::Empty
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
    Ok(Part::FunctionCall(
        WireCall {
            id: sent_id(&call.id),
            name: &call.function.name,
            args,
        },
        call.thought_signature.as_deref(),
    ))
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
