//! Typed answers: the schema comes from the Rust type, the provider is told
//! about it in its own dialect, and the answer is parsed into the type.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::Stream;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::{CallOptions, ResponseFormat};
use crate::response::{ChatResponse, FinishReason, StreamChunk};
use crate::schema::LlmSchema;
use crate::stream::ChatStream;
use crate::tools::{Tool, ToolChoice, parse_json};

/// How a provider is asked for a typed answer, from the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `response_format: {"type": "json_schema", "strict": true, ...}`.
    JsonSchema,
    /// A forced call of a tool whose input is the answer (Anthropic).
    ForcedTool,
    /// `response_format: {"type": "json_object"}` and the schema in the prompt.
    JsonMode,
    /// The schema in the prompt only.
    Prompt,
}

impl Dialect {
    /// Sets the options that ask for a `T`.
    pub fn apply<T: LlmSchema>(self, options: &mut CallOptions) {
        match self {
            Dialect::JsonSchema => {
                options.response_format = Some(ResponseFormat::of::<T>());
            }
            Dialect::ForcedTool => {
                options.tools = vec![Tool::of::<T>()];
                options.tool_choice = Some(ToolChoice::Named(T::llm_name().to_owned()));
            }
            Dialect::JsonMode | Dialect::Prompt => {
                if self == Dialect::JsonMode {
                    options.response_format = Some(ResponseFormat::JsonObject);
                }
                let schema = T::llm_schema();
                let instruction = format!(
                    "Answer with a JSON object, and nothing else, that follows this JSON Schema:\n{schema}"
                );
                options.system = Some(match options.system.take() {
                    Some(system) => format!("{system}\n\n{instruction}"),
                    None => instruction,
                });
            }
        }
    }

    /// The answer's JSON text in a response.
    pub fn raw(self, response: &ChatResponse) -> Result<String> {
        let choice = response.choices.first();
        let message = choice.map(|choice| &choice.message);
        if let Some(message) = message
            && (message.refusal.is_some()
                || choice.and_then(|c| c.finish_reason.as_ref()) == Some(&FinishReason::Refusal))
        {
            return Err(Error::Refusal {
                model: response.catalog_model,
                message: message
                    .refusal
                    .clone()
                    .unwrap_or_else(|| "refused".to_owned()),
            });
        }
        let from_tool = message
            .and_then(|message| message.tool_calls.first())
            .map(|call| call.function.arguments.clone());
        let from_text = message.and_then(|message| message.content.clone());
        Ok(match self {
            Dialect::ForcedTool => from_tool.or(from_text),
            _ => from_text.or(from_tool),
        }
        .unwrap_or_default())
    }

    /// The messages that show the model its mistake and ask again.
    pub fn correction(self, response: &ChatResponse, raw: &str, error: &Error) -> Vec<Message> {
        let why = match error {
            Error::InvalidOutput { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        let feedback = format!(
            "That answer does not match the expected JSON Schema: {why}. Answer again, following the schema exactly."
        );
        match (self, response.tool_calls().first()) {
            (Dialect::ForcedTool, Some(call)) => vec![
                Message::assistant_tool_calls([call.clone()]),
                Message::tool(call.id.clone(), feedback),
            ],
            _ => vec![Message::assistant(raw), Message::user(feedback)],
        }
    }
}

/// An item of [`TypedStream`].
#[derive(Debug, Clone, PartialEq)]
pub enum TypedEvent<T> {
    /// A piece of the answer's JSON text, as it arrives.
    Delta(String),
    /// The whole answer, parsed: the last item.
    Done(T),
}

/// A stream of a typed answer: its JSON text as it arrives, then the
/// parsed value (from [`MultiAIClient::astream_typed`](crate::MultiAIClient::astream_typed)).
pub struct TypedStream<T> {
    inner: ChatStream,
    dialect: Dialect,
    model: &'static str,
    text: String,
    refusal: Option<String>,
    done: bool,
    kind: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for TypedStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedStream")
            .field("model", &self.model)
            .field("received", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl<T> TypedStream<T> {
    pub(crate) fn new(inner: ChatStream, dialect: Dialect, model: &'static str) -> TypedStream<T> {
        TypedStream {
            inner,
            dialect,
            model,
            text: String::new(),
            refusal: None,
            done: false,
            kind: PhantomData,
        }
    }

    /// The piece of answer text a chunk carries in this dialect.
    fn piece(&self, chunk: StreamChunk) -> Option<String> {
        match self.dialect {
            Dialect::ForcedTool => {
                let pieces: String = chunk
                    .tool_calls
                    .into_iter()
                    .filter(|delta| delta.index == 0)
                    .filter_map(|delta| delta.arguments)
                    .collect();
                (!pieces.is_empty()).then_some(pieces)
            }
            _ => chunk.content,
        }
    }
}

impl<T: LlmSchema> Stream for TypedStream<T> {
    type Item = Result<TypedEvent<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(mut chunk)) => {
                    if let Some(refusal) = chunk.refusal.take() {
                        this.refusal.get_or_insert_default().push_str(&refusal);
                    }
                    if chunk.finish_reason == Some(FinishReason::Refusal) && this.refusal.is_none()
                    {
                        this.refusal = Some("refused".to_owned());
                    }
                    if let Some(piece) = this.piece(chunk) {
                        this.text.push_str(&piece);
                        return Poll::Ready(Some(Ok(TypedEvent::Delta(piece))));
                    }
                }
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.done = true;
                    if let Some(message) = this.refusal.take() {
                        return Poll::Ready(Some(Err(Error::Refusal {
                            model: this.model,
                            message,
                        })));
                    }
                    return Poll::Ready(Some(
                        parse_json(this.model, &this.text).map(TypedEvent::Done),
                    ));
                }
            }
        }
    }
}
