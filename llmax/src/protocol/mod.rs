//! Wire protocols: one adapter per protocol, chosen from the manifest.
//!
//! An adapter turns llmax's messages and options into a request body, a
//! response body into a [`ChatResponse`](crate::ChatResponse) (less the
//! fields the client fills in), stream events into
//! [`StreamChunk`](crate::StreamChunk)s, and error bodies into
//! [`ProviderError`](crate::ProviderError)s. Providers are data; only the
//! protocols are code.

pub(crate) mod anthropic;
pub(crate) mod errors;
pub(crate) mod gemini;
pub(crate) mod openai;

use std::borrow::Cow;

use reqwest::header::HeaderMap;

use crate::catalog::{ModelKind, Protocol};
use crate::deployment::Resolved;
use crate::embeddings::EmbeddingOptions;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::CallOptions;
use crate::response::{Choice, StreamChunk, Usage};
use crate::structured::Dialect;

/// A float option as JSON, refusing NaN and infinities (which JSON cannot
/// carry) before anything is sent.
pub(crate) fn finite(model: &'static str, name: &str, value: f64) -> Result<serde_json::Value> {
    serde_json::Number::from_f64(value)
        .map(serde_json::Value::Number)
        .ok_or_else(|| crate::Error::InvalidRequest {
            model,
            message: format!("`{name}` must be a finite number, not {value}"),
        })
}

/// A parsed non-streamed response, before the client adds cost and timing.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub id: String,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// What a stream decoder says after an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// More events are expected.
    Continue,
    /// The provider said the stream is complete.
    Done,
}

/// Turns the events of one stream into chunks. Stateful: tool calls and
/// usage may be spread over many events.
pub(crate) trait StreamDecoder: Send {
    /// Decodes one SSE event (`event` is its type, empty if none).
    fn decode(&mut self, event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow>;

    /// The usage known so far, for accounting when a stream is cut.
    fn usage(&self) -> Option<Usage>;
}

/// What a request asks of a provider: one endpoint of a protocol.
///
/// Each is a variant with its path in each protocol that serves it, its
/// codec, and the kind of model it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
    /// Chat completions (streamed or not: the same endpoint).
    Chat,
    /// Text embeddings.
    Embeddings,
    /// Speech to text: a multipart upload of the audio.
    Transcription,
    /// Image generation from a prompt.
    Images,
    /// Text to speech: a JSON request, the audio as the reply.
    Speech,
}

impl Operation {
    /// All operations, in the order of [`Operation::index`].
    pub const ALL: [Operation; 5] = [
        Operation::Chat,
        Operation::Embeddings,
        Operation::Transcription,
        Operation::Images,
        Operation::Speech,
    ];

    /// A dense index, for per-operation tables.
    pub const fn index(self) -> usize {
        match self {
            Operation::Chat => 0,
            Operation::Embeddings => 1,
            Operation::Transcription => 2,
            Operation::Images => 3,
            Operation::Speech => 4,
        }
    }

    /// The kind of model the operation takes.
    pub const fn kind(self) -> ModelKind {
        match self {
            Operation::Chat => ModelKind::Chat,
            Operation::Embeddings => ModelKind::Embedding,
            Operation::Transcription => ModelKind::Transcription,
            Operation::Images => ModelKind::Image,
            Operation::Speech => ModelKind::Speech,
        }
    }

    /// What the operation is called in errors.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::Embeddings => "embeddings",
            Operation::Transcription => "speech-to-text",
            Operation::Images => "image generation",
            Operation::Speech => "text-to-speech",
        }
    }
}

/// The adapter of a protocol: the codecs of its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Adapter {
    pub fn for_protocol(protocol: Protocol) -> Adapter {
        match protocol {
            // The manifest's `mock` protocol is OpenAI's wire format over
            // the in-process mock transport (chosen with the deployment).
            Protocol::OpenAi | Protocol::Mock => Adapter::OpenAi,
            Protocol::Anthropic => Adapter::Anthropic,
            Protocol::Gemini => Adapter::Gemini,
        }
    }

    /// The path of an operation under the deployment's base URL, or `None`
    /// if the protocol does not serve it. `model` is the wire name of the
    /// deployment's model (Gemini puts it in the path).
    pub fn path(self, operation: Operation, model: &str) -> Option<Cow<'static, str>> {
        if self == Adapter::Gemini {
            return match operation {
                Operation::Chat => Some(Cow::Owned(gemini::chat_path(model))),
                Operation::Embeddings => Some(Cow::Owned(gemini::embeddings::path(model))),
                // Gemini's native API has no such endpoints (its speech and
                // images go through `generateContent` with other models).
                Operation::Transcription | Operation::Images | Operation::Speech => None,
            };
        }
        let path = match (self, operation) {
            (Adapter::OpenAi, Operation::Chat) => Some("/chat/completions"),
            (Adapter::Anthropic, Operation::Chat) => Some("/v1/messages"),
            (Adapter::OpenAi, Operation::Embeddings) => Some("/embeddings"),
            // Anthropic has no embeddings API (it points to Voyage AI).
            (Adapter::Anthropic, Operation::Embeddings) => None,
            (Adapter::OpenAi, Operation::Transcription) => Some("/audio/transcriptions"),
            (Adapter::Anthropic, Operation::Transcription) => None,
            (Adapter::OpenAi, Operation::Images) => Some("/images/generations"),
            // Anthropic's models make no images.
            (Adapter::Anthropic, Operation::Images) => None,
            (Adapter::OpenAi, Operation::Speech) => Some("/audio/speech"),
            // Anthropic has no speech API.
            (Adapter::Anthropic, Operation::Speech) => None,
            (Adapter::Gemini, _) => None,
        };
        path.map(Cow::Borrowed)
    }

    /// The path of a streamed chat, where it is not the chat path.
    pub fn stream_path(self, model: &str) -> Option<String> {
        match self {
            Adapter::Gemini => Some(gemini::stream_path(model)),
            Adapter::OpenAi | Adapter::Anthropic => None,
        }
    }

    /// How a typed answer is asked for from this deployment.
    pub fn dialect(self, resolved: &Resolved) -> Dialect {
        let capabilities = resolved.model.capabilities;
        match self {
            Adapter::Anthropic => Dialect::ForcedTool,
            // `responseJsonSchema`, or the OpenAPI-subset `responseSchema`
            // for models the manifest does not mark `json_schema`: the body
            // picks one (see `gemini::body`).
            Adapter::Gemini if capabilities.json_schema || capabilities.json_object => {
                Dialect::JsonSchema
            }
            Adapter::Gemini => Dialect::Prompt,
            Adapter::OpenAi if capabilities.json_schema => Dialect::JsonSchema,
            Adapter::OpenAi if capabilities.json_object => Dialect::JsonMode,
            Adapter::OpenAi => Dialect::Prompt,
        }
    }

    /// The chat request body.
    pub fn chat_body(
        self,
        resolved: &Resolved,
        messages: &[Message],
        options: &CallOptions,
        stream: bool,
    ) -> Result<Vec<u8>> {
        match self {
            Adapter::OpenAi => openai::body(resolved, messages, options, stream),
            Adapter::Anthropic => anthropic::body(resolved, messages, options, stream),
            Adapter::Gemini => gemini::body(resolved, messages, options, stream),
        }
    }

    /// Parses a whole chat response body.
    pub fn chat_parse(self, provider: &'static str, body: &[u8]) -> Result<Parsed> {
        match self {
            Adapter::OpenAi => openai::parse(provider, body),
            Adapter::Anthropic => anthropic::parse(provider, body),
            Adapter::Gemini => gemini::parse(provider, body),
        }
    }

    /// A decoder for one chat stream.
    pub fn chat_decoder(self, provider: &'static str) -> Box<dyn StreamDecoder> {
        match self {
            Adapter::OpenAi => Box::new(openai::Decoder::new(provider)),
            Adapter::Anthropic => Box::new(anthropic::Decoder::new(provider)),
            Adapter::Gemini => Box::new(gemini::Decoder::new(provider)),
        }
    }

    /// The inputs of one embeddings call cut into the batches of one request
    /// each, in order, at most `max_inputs` inputs a batch (and within the
    /// protocol's own limits).
    pub fn embedding_batches(
        self,
        inputs: &[String],
        max_inputs: usize,
    ) -> Vec<std::ops::Range<usize>> {
        match self {
            Adapter::Gemini => gemini::embeddings::batches(inputs, max_inputs),
            Adapter::OpenAi | Adapter::Anthropic => openai::embeddings::batches(inputs, max_inputs),
        }
    }

    /// The embeddings request body of one batch.
    pub fn embeddings_body(
        self,
        resolved: &Resolved,
        inputs: &[String],
        options: &EmbeddingOptions,
    ) -> Result<Vec<u8>> {
        match self {
            Adapter::OpenAi => openai::embeddings::body(resolved, inputs, options),
            Adapter::Gemini => gemini::embeddings::body(resolved, inputs, options),
            // `Target::check` refuses the call before this: no path.
            Adapter::Anthropic => Err(Error::InvalidRequest {
                model: resolved.model.name,
                message: "the anthropic protocol has no embeddings endpoint".to_owned(),
            }),
        }
    }

    /// Parses an embeddings response of a batch of `inputs` inputs.
    pub fn embeddings_parse(
        self,
        provider: &'static str,
        body: &[u8],
        inputs: usize,
    ) -> Result<openai::embeddings::Parsed> {
        match self {
            Adapter::OpenAi => openai::embeddings::parse(provider, body, inputs),
            Adapter::Gemini => gemini::embeddings::parse(provider, body, inputs),
            Adapter::Anthropic => Err(Error::decode(
                provider,
                "the anthropic protocol has no embeddings endpoint",
                body,
            )),
        }
    }

    /// Parses an error answer (every protocol's error bodies are told apart
    /// by their shape, so one parser serves all).
    pub fn error(
        self,
        provider: &'static str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> crate::ProviderError {
        errors::parse(provider, status, headers, body)
    }
}
