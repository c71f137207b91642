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

/// Whether a message carries a thought signature (Gemini).
fn signed(message: &Message) -> bool {
    matches!(message, Message::Assistant { tool_calls, .. }
        if tool_calls.iter().any(|call| call.thought_signature.is_some()))
}

/// The message without its thought signatures.
fn unsign(message: &Message) -> Message {
    let mut message = message.clone();
    if let Message::Assistant { tool_calls, .. } = &mut message {
        for call in tool_calls {
            call.thought_signature = None;
        }
    }
    message
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
    if options.thinking.is_some() {
        tracing::warn!(
            model,
            option = "thinking",
            "llmax: the thinking option is read by the gemini protocol only, dropped \
             (use `extra` for the provider's own field, e.g. `reasoning_effort`)"
        );
    }
    // Gemini's thought signatures mean nothing here, and servers that refuse
    // unknown fields would refuse the call: a conversation that came from
    // Gemini goes without them (the scan costs nothing otherwise).
    let unsigned: Vec<Message>;
    let messages = if messages.iter().any(signed) {
        unsigned = messages.iter().map(unsign).collect();
        &unsigned
    } else {
        messages
    };
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
            Field::Value(crate::protocol::finite(model, "temperature", temperature)?),
        );
    }
    if let Some(top_p) = options.top_p {
        body.set(
            "top_p",
            Field::Value(crate::protocol::finite(model, "top_p", top_p)?),
        );
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

pub(crate) mod audio;
pub(crate) mod embeddings;
pub(crate) mod images;
mod response;
pub(crate) mod speech;
mod stream;
#[cfg(test)]
mod tests;

pub(crate) use response::parse;
pub(crate) use stream::Decoder;
pub(super) use stream::{Name, Nullable, once, rare};
