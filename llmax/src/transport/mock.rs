//! The mock transport: an in-process OpenAI chat server, with no network,
//! whose replies are real OpenAI wire bytes (JSON, or SSE when the request
//! streams) decoded by the same code as a real provider's. It serves
//! embeddings too ([`embeddings`]).
//!
//! It reads the request body as OpenAI's chat API would. Replies echo the
//! last user message, so tests can assert on them; token
//! counts follow a simple rule (about four characters a token, as for
//! English text with OpenAI's tokenizers) so that costs are realistic; a
//! stream sends one chunk per word, then a finish chunk and a usage chunk,
//! like OpenAI. Asked for a schema (`response_format`, or a JSON Schema in
//! the system prompt) it answers a value that follows it; given tools, it
//! calls one, then answers from the tool results. Speech-to-text uploads
//! are answered by its [`audio`] part, text to speech by its [`speech`]
//! part (real WAV bytes).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmax::Result<()> {
//! use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
//!
//! let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)])?;
//! let reply = client
//!     .ainvoke_to_str(&[Message::user("Hello!")], Model::Gpt4o)
//!     .await?;
//! assert_eq!(reply, "This is a mock reply from gpt-4o. You said: Hello!");
//! # Ok(()) }
//! ```

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reply, Request, RequestBody};
use crate::message::{Content, Message};

mod embeddings;
mod images;
mod speech;

/// The part of an OpenAI chat request the mock reads.
#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    tools: Vec<Value>,
    #[serde(default)]
    tool_choice: Option<Value>,
    #[serde(default)]
    response_format: Option<Value>,
}

mod audio;

/// Answers one request.
pub(crate) fn answer(request: &Request<'_>) -> Reply {
    if request.url.path().ends_with("/embeddings") {
        return embeddings::answer(request);
    }
    if request.url.path().ends_with("/images/generations") {
        return images::answer(request);
    }
    let body = match &request.body {
        RequestBody::Json(body) => body,
        RequestBody::Multipart(form) => return audio::answer(request.url, form),
    };
    if request.url.path().ends_with("/audio/speech") {
        return speech::answer(body);
    }
    if !request.url.path().ends_with("/chat/completions") {
        return error(
            404,
            &format!(
                "the mock provider serves chat completions and embeddings, not {}",
                request.url.path()
            ),
        );
    }
    let chat: ChatRequest = match serde_json::from_slice(body) {
        Ok(chat) => chat,
        Err(why) => return error(400, &format!("invalid chat request: {why}")),
    };
    let (said, usage) = reply(&chat);
    if chat.stream {
        let mut sse = String::new();
        for chunk in chunks(&chat.model, said, usage) {
            sse.push_str("data: ");
            sse.push_str(&chunk.to_string());
            sse.push_str("\n\n");
        }
        sse.push_str("data: [DONE]\n\n");
        return ok("text/event-stream", sse.into_bytes());
    }
    let (message, finish) = match said {
        Said::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Said::Call {
            id,
            name,
            arguments,
        } => (
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ]}),
            "tool_calls",
        ),
    };
    let body = json!({
        "id": "mock-0",
        "object": "chat.completion",
        "created": 0,
        "model": chat.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    });
    ok("application/json", body.to_string().into_bytes())
}

fn ok(content_type: &'static str, body: Vec<u8>) -> Reply {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Reply::Mock {
        status: 200,
        headers,
        body: Bytes::from(body),
    }
}

fn error(status: u16, message: &str) -> Reply {
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    let mut reply = ok("application/json", body.to_string().into_bytes());
    if let Reply::Mock { status: slot, .. } = &mut reply {
        *slot = status;
    }
    reply
}

/// The reply text of the mock for these messages.
fn reply_text(model: &str, messages: &[Message]) -> String {
    let said = messages
        .iter()
        .rev()
        .find_map(|message| match message {
            Message::User { content, .. } => Some(content.text()),
            _ => None,
        })
        .or_else(|| system(messages).map(Content::text))
        .unwrap_or_default();
    format!("This is a mock reply from {model}. You said: {said}")
}

fn system(messages: &[Message]) -> Option<&Content> {
    messages.iter().find_map(|message| match message {
        Message::System { content, .. } | Message::Developer { content, .. } => Some(content),
        _ => None,
    })
}

/// Tokens for a text, by the four-characters rule (at least one for
/// non-empty text).
fn tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(4)
}

/// OpenAI's `usage` for these messages and this reply.
fn usage(messages: &[Message], reply: &str) -> Value {
    // Each message costs a few tokens of framing, as with OpenAI's format.
    let framing = 3 * messages.len() as u64 + 3;
    let input = messages
        .iter()
        .filter_map(Message::content)
        .map(|content| match content {
            Content::Text(text) => tokens(text),
            Content::Parts(_) => tokens(&content.text()) + 85,
        })
        .sum::<u64>()
        + framing;
    let output = tokens(reply);
    json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output})
}

/// A value that follows a JSON Schema, deterministic: strings name their
/// field, numbers are 1, arrays hold one item, enums take their first value.
fn example(schema: &Value, name: &str) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    if let Some(variants) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let chosen = variants
            .iter()
            .find(|variant| variant.get("type").and_then(Value::as_str) != Some("null"));
        return chosen.map_or(Value::Null, |variant| example(variant, name));
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match kind {
        "object" => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let fields = properties
                .into_iter()
                .flatten()
                .map(|(key, property)| (key.clone(), example(property, key)));
            Value::Object(fields.collect())
        }
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            json!([example(&items, name)])
        }
        "string" => json!(format!("mock {name}")),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

/// What the mock says: text (maybe JSON following the asked schema), or a
/// tool call.
enum Said {
    Text(String),
    Call {
        id: String,
        name: String,
        arguments: String,
    },
}

/// The JSON Schema a system prompt gives after "JSON Schema:" (what llmax
/// sends to models without a structured-output mode).
fn schema_in_prompt(messages: &[Message]) -> Option<Value> {
    let text = system(messages)?.text();
    let (_, after) = text.split_once("JSON Schema:")?;
    serde_json::Deserializer::from_str(after.trim_start())
        .into_iter::<Value>()
        .next()?
        .ok()
}

fn reply(chat: &ChatRequest) -> (Said, Value) {
    let said = say(chat);
    let text = match &said {
        Said::Text(text) => text.as_str(),
        Said::Call { arguments, .. } => arguments.as_str(),
    };
    let usage = usage(&chat.messages, text);
    (said, usage)
}

fn say(chat: &ChatRequest) -> Said {
    let messages = &chat.messages;
    if let Some(schema) = chat
        .response_format
        .as_ref()
        .filter(|format| format.get("type").and_then(Value::as_str) == Some("json_schema"))
        .and_then(|format| format.pointer("/json_schema/schema"))
    {
        return Said::Text(example(schema, "value").to_string());
    }
    if let Some(schema) = schema_in_prompt(messages) {
        return Said::Text(example(&schema, "value").to_string());
    }
    if chat
        .response_format
        .as_ref()
        .is_some_and(|format| format.get("type").and_then(Value::as_str) == Some("json_object"))
    {
        return Said::Text("{}".to_owned());
    }
    let after_tools = matches!(messages.last(), Some(Message::Tool { .. }));
    let choice = chat.tool_choice.as_ref();
    if let Some(first) = chat.tools.first()
        && !after_tools
        && choice.and_then(Value::as_str) != Some("none")
    {
        let wanted = choice.and_then(|choice| choice.pointer("/function/name"));
        let tool = chat
            .tools
            .iter()
            .find(|tool| wanted.is_none() || tool.pointer("/function/name") == wanted)
            .unwrap_or(first);
        let name = tool
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or("tool");
        let empty = json!({});
        let schema = tool.pointer("/function/parameters").unwrap_or(&empty);
        let earlier = messages
            .iter()
            .filter(|message| matches!(message, Message::Assistant { tool_calls, .. } if !tool_calls.is_empty()))
            .count();
        return Said::Call {
            id: format!("call_mock_{earlier}"),
            name: name.to_owned(),
            arguments: example(schema, name).to_string(),
        };
    }
    if after_tools {
        let results: Vec<String> = messages
            .iter()
            .rev()
            .take_while(|message| matches!(message, Message::Tool { .. }))
            .filter_map(|message| message.content().map(Content::text))
            .collect();
        return Said::Text(format!(
            "This is a mock reply from {} using the tool results: {}",
            chat.model,
            results.into_iter().rev().collect::<Vec<_>>().join("; ")
        ));
    }
    Said::Text(reply_text(&chat.model, messages))
}

/// The chunks of a stream: one per word (or a tool call in two
/// fragments), a finish chunk, a usage chunk with no choices.
fn chunks(model: &str, said: Said, usage: Value) -> Vec<Value> {
    let chunk = |choices: Value| json!({"id": "mock-0", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": choices});
    let mut out = Vec::new();
    let finish = match said {
        Said::Text(text) => {
            for word in text.split_inclusive(' ') {
                out.push(chunk(
                    json!([{"index": 0, "delta": {"content": word}, "finish_reason": null}]),
                ));
            }
            "stop"
        }
        Said::Call {
            id,
            name,
            arguments,
        } => {
            let middle = arguments.len() / 2;
            let split = (0..=middle)
                .rev()
                .find(|at| arguments.is_char_boundary(*at))
                .unwrap_or(0);
            let (first, second) = arguments.split_at(split);
            out.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": first}}
            ]}, "finish_reason": null}])));
            out.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": second}}
            ]}, "finish_reason": null}])));
            "tool_calls"
        }
    };
    out.push(chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
    ));
    let mut last = chunk(json!([]));
    last["usage"] = usage;
    out.push(last);
    out
}
