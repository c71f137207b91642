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

use crate::message::{Content, Message};
use crate::protocol::Parsed;
use crate::response::{AssistantMessage, Choice, FinishReason, StreamChunk, Usage};

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

/// A whole mock response.
pub(crate) fn respond(model: &str, system: Option<&str>, messages: &[Message]) -> Parsed {
    let text = reply_text(model, system, messages);
    let usage = usage(system, messages, &text);
    Parsed {
        id: "mock-0".to_owned(),
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                content: Some(text),
                ..AssistantMessage::default()
            },
            finish_reason: Some(FinishReason::Stop),
        }],
        usage,
    }
}

/// The chunks of a mock stream: one per word, a finish chunk, a usage chunk.
pub(crate) fn chunks(model: &str, system: Option<&str>, messages: &[Message]) -> Vec<StreamChunk> {
    let text = reply_text(model, system, messages);
    let usage = usage(system, messages, &text);
    let mut chunks: Vec<StreamChunk> = text
        .split_inclusive(' ')
        .map(|word| StreamChunk {
            content: Some(word.to_owned()),
            ..StreamChunk::default()
        })
        .collect();
    chunks.push(StreamChunk {
        finish_reason: Some(FinishReason::Stop),
        ..StreamChunk::default()
    });
    chunks.push(StreamChunk {
        usage: Some(usage),
        ..StreamChunk::default()
    });
    chunks
}
