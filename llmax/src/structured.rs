//! Typed answers: the schema comes from the Rust type, the provider is told
//! about it in its own dialect, and the answer is parsed into the type.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_util::Stream;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::{CallOptions, ResponseFormat};
use crate::partial::{Kind, PartialJson};
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
pub enum TypedEvent<T: LlmSchema> {
    /// A piece of the answer's JSON text, as it arrives.
    Delta(String),
    /// The value so far, after the chunk whose [`Delta`](Self::Delta) came
    /// just before: at most one per chunk, only when the chunk changed it.
    /// Each field is `None` until it starts; strings and lists grow as they
    /// arrive (see [`crate::partial`]). The stream updates it in place when
    /// the previous one was dropped (the cost per chunk follows the chunk,
    /// not the answer); one still held is copied first.
    Partial(Arc<T::Partial>),
    /// The whole answer, parsed: the last item.
    Done(T),
}

impl<T: LlmSchema + std::fmt::Debug> std::fmt::Debug for TypedEvent<T>
where
    T::Partial: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypedEvent::Delta(text) => f.debug_tuple("Delta").field(text).finish(),
            TypedEvent::Partial(partial) => f.debug_tuple("Partial").field(partial).finish(),
            TypedEvent::Done(value) => f.debug_tuple("Done").field(value).finish(),
        }
    }
}

impl<T: LlmSchema + Clone> Clone for TypedEvent<T> {
    fn clone(&self) -> Self {
        match self {
            TypedEvent::Delta(text) => TypedEvent::Delta(text.clone()),
            TypedEvent::Partial(partial) => TypedEvent::Partial(Arc::clone(partial)),
            TypedEvent::Done(value) => TypedEvent::Done(value.clone()),
        }
    }
}

impl<T: LlmSchema + PartialEq> PartialEq for TypedEvent<T>
where
    T::Partial: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TypedEvent::Delta(a), TypedEvent::Delta(b)) => a == b,
            (TypedEvent::Partial(a), TypedEvent::Partial(b)) => a == b,
            (TypedEvent::Done(a), TypedEvent::Done(b)) => a == b,
            _ => false,
        }
    }
}

/// Follows a typed value as its JSON text arrives: the incremental parser
/// and the partial value it updates. [`TypedStream`] and
/// [`ToolCallCollector`](crate::ToolCallCollector) are built on it; use it
/// directly for text from elsewhere.
///
/// ```
/// use llmax::PartialValue;
///
/// #[derive(llmax::LlmSchema, serde::Deserialize, Debug)]
/// struct Joke {
///     setup: String,
///     rating: Option<u8>,
/// }
///
/// let mut joke = PartialValue::<Joke>::new();
/// assert!(joke.push(r#"{"setup": "Why do"#));
/// assert_eq!(joke.get().and_then(|j| j.setup.as_deref()), Some("Why do"));
/// assert!(joke.push(r#"es", "#));
/// assert!(!joke.push("  ")); // nothing changed
/// joke.push(r#""rating": 7}"#);
/// assert_eq!(joke.get().and_then(|j| j.rating), Some(7));
/// ```
pub struct PartialValue<T: LlmSchema> {
    parser: PartialJson,
    partial: Option<Arc<T::Partial>>,
}

impl<T: LlmSchema> Default for PartialValue<T> {
    fn default() -> Self {
        PartialValue {
            parser: PartialJson::new(),
            partial: None,
        }
    }
}

impl<T: LlmSchema> std::fmt::Debug for PartialValue<T>
where
    T::Partial: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialValue")
            .field("partial", &self.partial)
            .finish_non_exhaustive()
    }
}

impl<T: LlmSchema> PartialValue<T> {
    /// Nothing read yet.
    pub fn new() -> PartialValue<T> {
        PartialValue::default()
    }

    /// Reads the next piece of the JSON text; whether the value changed.
    pub fn push(&mut self, piece: &str) -> bool {
        let mut changed = false;
        let partial = &mut self.partial;
        self.parser.push(piece.as_bytes(), |path, event| {
            changed = true;
            match partial {
                Some(value) => <T::Partial as Kind>::update(Arc::make_mut(value), path, &event),
                None => *partial = <T::Partial as Kind>::create(path, &event).map(Arc::new),
            }
        });
        changed && self.partial.is_some()
    }

    /// The value so far; `None` before its first `{`.
    pub fn get(&self) -> Option<&T::Partial> {
        self.partial.as_deref()
    }

    /// The value so far, shared.
    pub fn shared(&self) -> Option<Arc<T::Partial>> {
        self.partial.clone()
    }

    /// Whether the text is not JSON (the value stops changing).
    pub fn failed(&self) -> bool {
        self.parser.failed()
    }
}

/// A stream of a typed answer: its JSON text as it arrives, each followed
/// by the value so far, then the parsed value (from
/// [`MultiAIClient::astream_typed`](crate::MultiAIClient::astream_typed)).
pub struct TypedStream<T: LlmSchema> {
    inner: ChatStream,
    dialect: Dialect,
    model: &'static str,
    text: String,
    refusal: Option<String>,
    partial: PartialValue<T>,
    /// The partial value to yield after the delta just yielded.
    pending: bool,
    done: bool,
}

impl<T: LlmSchema> std::fmt::Debug for TypedStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedStream")
            .field("model", &self.model)
            .field("received", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl<T: LlmSchema> TypedStream<T> {
    pub(crate) fn new(inner: ChatStream, dialect: Dialect, model: &'static str) -> TypedStream<T> {
        TypedStream {
            inner,
            dialect,
            model,
            text: String::new(),
            refusal: None,
            partial: PartialValue::new(),
            pending: false,
            done: false,
        }
    }

    /// The value so far (what the last [`TypedEvent::Partial`] carried).
    pub fn partial(&self) -> Option<&T::Partial> {
        self.partial.get()
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
            if std::mem::take(&mut this.pending)
                && let Some(partial) = this.partial.shared()
            {
                return Poll::Ready(Some(Ok(TypedEvent::Partial(partial))));
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
                        this.pending = this.partial.push(&piece);
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
