//! The `mock` provider: in-process, no network, deterministic.
//!
//! Replies echo the last user message, so tests can assert on them; token
//! counts follow a simple rule (about four characters a token, as for
//! English text with OpenAI's tokenizers) so that costs are realistic; a
//! stream sends one chunk per word, then a finish chunk and a usage chunk,
//! like OpenAI.
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

use serde_json::{Value, json};

use crate::message::{Content, Message, ToolCall};
use crate::options::CallOptions;
use crate::protocol::Parsed;
use crate::response::{AssistantMessage, Choice, FinishReason, StreamChunk, ToolCallDelta, Usage};

/// The reply text of the mock for these messages.
pub(crate) fn reply_text(model: &str, system: Option<&str>, messages: &[Message]) -> String {
    let said = messages
        .iter()
        .rev()
        .find_map(|message| match message {
            Message::User { content, .. } => Some(content.text()),
            _ => None,
        })
        .or_else(|| system.map(str::to_owned))
        .unwrap_or_default();
    format!("This is a mock reply from {model}. You said: {said}")
}

/// Tokens for a text, by the four-characters rule (at least one for
/// non-empty text).
fn tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    chars.div_ceil(4)
}

fn usage(system: Option<&str>, messages: &[Message], reply: &str) -> Usage {
    // Each message costs a few tokens of framing, as with OpenAI's format.
    let framing = 3 * (messages.len() as u64 + u64::from(system.is_some())) + 3;
    let input = messages
        .iter()
        .filter_map(Message::content)
        .map(|content| match content {
            Content::Text(text) => tokens(text),
            Content::Parts(_) => tokens(&content.text()) + 85,
        })
        .sum::<u64>()
        + system.map_or(0, tokens)
        + framing;
    Usage {
        input_tokens: input,
        output_tokens: tokens(reply),
        ..Usage::default()
    }
}

/// A value that follows a JSON Schema, deterministic: strings name their
/// field, numbers are 1, arrays hold one item, enums take their first value.
pub(crate) fn example(schema: &Value, name: &str) -> Value {
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

/// What the mock answers: text, JSON following the asked schema, or a tool call.
enum Answer {
    Text(String),
    Call(ToolCall),
}

fn answer(model: &str, options: &CallOptions, messages: &[Message]) -> Answer {
    let format = options.response_format.as_ref();
    if let Some(schema) = format
        .filter(|format| format.get("type").and_then(Value::as_str) == Some("json_schema"))
        .and_then(|format| format.pointer("/json_schema/schema"))
    {
        return Answer::Text(example(schema, "value").to_string());
    }
    let after_tools = matches!(messages.last(), Some(Message::Tool { .. }));
    let tools = options.extra.get("tools").and_then(Value::as_array);
    let choice = options.extra.get("tool_choice");
    if let Some(tools) = tools.filter(|tools| !tools.is_empty())
        && !after_tools
        && choice.and_then(Value::as_str) != Some("none")
    {
        let wanted = choice.and_then(|choice| choice.pointer("/function/name"));
        let tool = tools
            .iter()
            .find(|tool| wanted.is_none() || tool.pointer("/function/name") == wanted)
            .unwrap_or(&tools[0]);
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
        let arguments = example(schema, name).to_string();
        return Answer::Call(ToolCall::function(
            format!("call_mock_{earlier}"),
            name,
            arguments,
        ));
    }
    if after_tools {
        let results: Vec<String> = messages
            .iter()
            .rev()
            .take_while(|message| matches!(message, Message::Tool { .. }))
            .filter_map(|message| message.content().map(Content::text))
            .collect();
        return Answer::Text(format!(
            "This is a mock reply from {model} using the tool results: {}",
            results.into_iter().rev().collect::<Vec<_>>().join("; ")
        ));
    }
    Answer::Text(reply_text(model, options.system.as_deref(), messages))
}

/// A whole mock response.
pub(crate) fn respond(model: &str, options: &CallOptions, messages: &[Message]) -> Parsed {
    let system = options.system.as_deref();
    let (message, finish, said) = match answer(model, options, messages) {
        Answer::Text(text) => (
            AssistantMessage {
                content: Some(text.clone()),
                ..AssistantMessage::default()
            },
            FinishReason::Stop,
            text,
        ),
        Answer::Call(call) => {
            let said = call.function.arguments.clone();
            (
                AssistantMessage {
                    tool_calls: vec![call],
                    ..AssistantMessage::default()
                },
                FinishReason::ToolCalls,
                said,
            )
        }
    };
    Parsed {
        id: "mock-0".to_owned(),
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: Some(finish),
        }],
        usage: usage(system, messages, &said),
    }
}

/// The chunks of a mock stream: one per word (or a tool call in two
/// fragments), a finish chunk, a usage chunk.
pub(crate) fn chunks(model: &str, options: &CallOptions, messages: &[Message]) -> Vec<StreamChunk> {
    let parsed = respond(model, options, messages);
    let Some(choice) = parsed.choices.into_iter().next() else {
        return Vec::new();
    };
    let mut chunks: Vec<StreamChunk> = choice
        .message
        .content
        .as_deref()
        .unwrap_or_default()
        .split_inclusive(' ')
        .map(|word| StreamChunk {
            content: Some(word.to_owned()),
            ..StreamChunk::default()
        })
        .collect();
    for (index, call) in choice.message.tool_calls.into_iter().enumerate() {
        let arguments = call.function.arguments;
        let middle = arguments.len() / 2;
        let split = (0..=middle)
            .rev()
            .find(|at| arguments.is_char_boundary(*at))
            .unwrap_or(0);
        let (first, second) = arguments.split_at(split);
        for (n, piece) in [first, second].into_iter().enumerate() {
            chunks.push(StreamChunk {
                tool_calls: vec![ToolCallDelta {
                    index: index as u32,
                    id: (n == 0).then(|| call.id.clone()),
                    name: (n == 0).then(|| call.function.name.clone()),
                    arguments: Some(piece.to_owned()),
                }],
                ..StreamChunk::default()
            });
        }
    }
    chunks.push(StreamChunk {
        finish_reason: choice.finish_reason,
        ..StreamChunk::default()
    });
    chunks.push(StreamChunk {
        usage: Some(parsed.usage),
        ..StreamChunk::default()
    });
    chunks
}
