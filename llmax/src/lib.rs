#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// Generated code names items as `::llmax::...`, which must also resolve
// inside this crate, where the default catalog is generated.
extern crate self as llmax;

mod audio;
pub mod catalog;
mod client;
mod deployment;
mod embeddings;
mod engine;
mod error;
mod images;
mod message;
mod options;
mod protocol;
mod response;
pub mod schema;
mod speech;
mod sse;
mod stream;
mod structured;
mod tools;
mod transport;
pub mod usage;

pub use audio::{Audio, Segment, Transcription, TranscriptionFormat, TranscriptionOptions};
pub use catalog::{ParseUsdError, ParseUsdErrorKind, Price, Usd};
pub use client::{
    Call, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
    Embed, Invoke, InvokeToStr, MultiAIClient, SpeechToText, Streaming, TextToImage, TextToSpeech,
    Typed, TypedStreaming,
};
pub use deployment::Deployment;
pub use embeddings::{
    DEFAULT_EMBEDDING_CONCURRENCY, EmbedInputs, EmbeddingEncoding, EmbeddingOptions,
    EmbeddingResponse,
};
pub use error::{ConfigErrorKind, Error, ProviderError, ProviderErrorKind, Result, TimeoutPhase};
pub use images::{GeneratedImage, ImageFormat, ImageGeneration, ImageOptions, ImageResponse};
pub use llmax_macros::{LlmSchema, manifest, model};
pub use message::{Content, ContentPart, FunctionCall, ImageUrl, InputAudio, Message, ToolCall};
pub use options::{
    CacheBreakpoint, CallOptions, JsonSchemaFormat, PromptCache, ResponseFormat, Thinking,
    ThinkingLevel,
};
pub use response::{
    AssistantMessage, ChatResponse, Choice, FinishReason, SafetyRating, StreamChunk, ToolCallDelta,
    Usage,
};
pub use schema::LlmSchema;
pub use schemars;
pub use speech::{DEFAULT_VOICE, Speech, SpeechFormat, SpeechOptions};
pub use stream::{ChatStream, SpeechStream};
pub use structured::{TypedEvent, TypedStream};
pub use tools::{Tool, ToolCallCollector, ToolChoice, ToolRun, Toolbox};
pub use usage::{UsageHooks, UsageRecord};

/// The default catalog, generated from the workspace `providers.toml`.
mod generated {
    llmax_macros::manifest!("providers.toml");
}
pub use generated::{CATALOG, Model, Provider};

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}
