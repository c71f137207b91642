//! Gemini streams: each SSE event is a whole `GenerateContentResponse`
//! holding the next parts; there is no end marker (the stream ends with
//! the connection, after a candidate's `finishReason`).
//!
//! Function calls come whole in one part (the Gemini API), or, on Vertex
//! AI with `streamFunctionCallArguments`, in pieces: a part with the name
//! and `willContinue: true`, parts with `partialArgs` (a JSON path and a
//! piece of a value each), and a last part without `willContinue`. The
//! pieces are put together here and the arguments handed out whole when
//! the call ends.

use serde_json::{Map, Value};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::response::{
    PromptFeedback, WireCandidate, WireFunctionCall, WireUsage, blocked, call_id, finish_reason,
};
use super::{Flow, StreamDecoder};
use crate::error::{Error, Result};
use crate::response::{FinishReason, StreamChunk, ToolCallDelta, Usage};

/// One event: a `GenerateContentResponse` less what a chunk does not
/// carry (the model version and response id, repeated on every event, are
/// skipped unread rather than allocated per chunk).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent<'a> {
    #[serde(default, borrow)]
    candidates: Vec<WireCandidate<'a>>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    error: Option<Box<RawValue>>,
}

/// Appends text to a chunk's field, moving it in when the field is empty.
fn append(slot: &mut Option<String>, text: String) {
    match slot {
        Some(existing) => existing.push_str(&text),
        None => *slot = Some(text),
    }
}

/// A streamed call whose arguments are still arriving.
struct Open {
    index: u32,
    arguments: Map<String, Value>,
}

/// Decodes the events of one Gemini stream.
pub(crate) struct Decoder {
    provider: &'static str,
    usage: Option<Usage>,
    /// Tool calls handed out so far (their indices).
    calls: u32,
    open: Option<Open>,
}

impl Decoder {
    pub(crate) fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            calls: 0,
            open: None,
        }
    }

    /// Ends the open streamed call: its arguments, whole.
    fn close(&mut self, chunk: &mut StreamChunk) {
        if let Some(open) = self.open.take() {
            chunk.tool_calls.push(
                ToolCallDelta::new(open.index)
                    .with_arguments(Value::Object(open.arguments).to_string()),
            );
        }
    }

    fn call(
        &mut self,
        call: WireFunctionCall,
        signature: Option<String>,
        chunk: &mut StreamChunk,
    ) -> Result<()> {
        let named = call.name.as_deref().is_some_and(|name| !name.is_empty());
        if named {
            // A new call ends the one before.
            self.close(chunk);
            let index = self.calls;
            self.calls += 1;
            let mut delta = ToolCallDelta::new(index)
                .with_id(call_id(call.id, index))
                .with_name(call.name.unwrap_or_default());
            if let Some(signature) = &signature {
                delta = delta.with_thought_signature(signature.clone());
            }
            let streamed = call.will_continue == Some(true) || !call.partial_args.is_empty();
            if streamed {
                chunk.tool_calls.push(delta);
                self.open = Some(Open {
                    index,
                    arguments: Map::new(),
                });
            } else {
                let arguments = call
                    .args
                    .map_or_else(|| "{}".to_owned(), |args| args.to_string());
                chunk.tool_calls.push(delta.with_arguments(arguments));
                return Ok(());
            }
        } else if self.open.is_none() {
            return Err(Error::decode(
                self.provider,
                "a function-call part without a name, and no call is open",
                b"",
            ));
        }
        if let Some(open) = self.open.as_mut() {
            if let Some(signature) = signature.filter(|_| !named) {
                chunk
                    .tool_calls
                    .push(ToolCallDelta::new(open.index).with_thought_signature(signature));
            }
            for arg in call.partial_args {
                let value = if let Some(text) = arg.string_value {
                    Piece::Text(text)
                } else if let Some(number) = arg.number_value {
                    Piece::Whole(Value::Number(number))
                } else if let Some(flag) = arg.bool_value {
                    Piece::Whole(Value::Bool(flag))
                } else if arg.null_value.is_some() {
                    Piece::Whole(Value::Null)
                } else {
                    continue;
                };
                place(&mut open.arguments, &arg.json_path, value).map_err(|why| {
                    Error::decode(
                        self.provider,
                        format!("streamed argument `{}`: {why}", arg.json_path),
                        b"",
                    )
                })?;
            }
            if call.will_continue != Some(true) {
                self.close(chunk);
            }
        }
        Ok(())
    }
}

/// A piece of a streamed argument: text is appended to what came before.
pub(super) enum Piece {
    Text(String),
    Whole(Value),
}

/// Puts a piece at a JSON path (`$.a.b`, `$.items[0].name`, `$['a b']`)
/// of the arguments.
pub(super) fn place(
    root: &mut Map<String, Value>,
    path: &str,
    piece: Piece,
) -> std::result::Result<(), String> {
    enum Step {
        Key(String),
        Index(usize),
    }
    let rest = path.strip_prefix('$').ok_or("not a JSON path")?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&next) = chars.peek() {
                    if next == '.' || next == '[' {
                        break;
                    }
                    key.push(next);
                    chars.next();
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut inner = String::new();
                for next in chars.by_ref() {
                    if next == ']' {
                        break;
                    }
                    inner.push(next);
                }
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                match quoted {
                    Some(key) => steps.push(Step::Key(key.to_owned())),
                    None => steps.push(Step::Index(
                        inner.parse().map_err(|_| format!("bad index `{inner}`"))?,
                    )),
                }
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    let Some(Step::Key(first)) = steps.first() else {
        return Err("the path does not start with a key".to_owned());
    };
    let mut slot = root.entry(first.clone()).or_insert(Value::Null);
    for step in &steps[1..] {
        slot = match step {
            Step::Key(key) => {
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                match slot {
                    Value::Object(object) => object.entry(key.clone()).or_insert(Value::Null),
                    _ => return Err("not an object".to_owned()),
                }
            }
            Step::Index(index) => {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let Value::Array(items) = slot else {
                    return Err("not an array".to_owned());
                };
                if *index > items.len() + 1024 {
                    return Err(format!("index {index} far past the end"));
                }
                if items.len() <= *index {
                    items.resize(*index + 1, Value::Null);
                }
                &mut items[*index]
            }
        };
    }
    match piece {
        Piece::Text(text) => match slot {
            Value::String(existing) => existing.push_str(&text),
            other => *other = Value::String(text),
        },
        Piece::Whole(value) => *slot = value,
    }
    Ok(())
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, _event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let wire: WireEvent<'_> = serde_json::from_str(data)
            .map_err(|error| Error::decode(self.provider, error.to_string(), data.as_bytes()))?;
        if let Some(error) = &wire.error {
            let body = format!("{{\"error\":{}}}", error.get());
            return Err(crate::protocol::errors::from_event(self.provider, &body).into());
        }
        if let Some(usage) = wire.usage_metadata {
            self.usage = Some(usage.into());
        }
        let first = out.len();
        for candidate in wire.candidates {
            let mut chunk = StreamChunk {
                index: candidate.index.unwrap_or(0),
                ..StreamChunk::default()
            };
            for part in candidate.content.unwrap_or_default().parts {
                if let Some(call) = part.function_call {
                    self.call(
                        call,
                        part.thought_signature
                            .map(super::response::Str::into_string),
                        &mut chunk,
                    )?;
                } else if let Some(text) = part.text.filter(|text| !text.is_empty()) {
                    let slot = if part.thought == Some(true) {
                        &mut chunk.reasoning
                    } else {
                        &mut chunk.content
                    };
                    append(slot, text);
                }
            }
            if let Some(reason) = candidate
                .finish_reason
                .as_ref()
                .map(|reason| reason.as_str())
            {
                self.close(&mut chunk);
                chunk.finish_reason = Some(finish_reason(reason, self.calls > 0));
            }
            if !chunk.is_empty() {
                out.push(chunk);
            }
        }
        if out.len() == first
            && let Some(refusal) = wire.prompt_feedback.as_ref().and_then(blocked)
        {
            out.push(StreamChunk {
                refusal: Some(refusal),
                finish_reason: Some(FinishReason::ContentFilter),
                ..StreamChunk::default()
            });
        }
        // The usage rides on the finishing chunk: the counts of every
        // event are running totals, the last ones final.
        if let Some(usage) = self.usage
            && let Some(last) = out[first..]
                .iter_mut()
                .rev()
                .find(|chunk| chunk.finish_reason.is_some())
        {
            last.usage = Some(usage);
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}
