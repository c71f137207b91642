//! Tools the model can call: declared from [`LlmSchema`] types, sent in
//! each protocol's dialect, read back typed, and run in a loop.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmax::Result<()> {
//! use llmax::{Deployment, Message, Model, MultiAIClient, Provider, Toolbox};
//!
//! /// Current weather in a city.
//! #[derive(serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
//! struct Weather {
//!     /// The city, e.g. "Paris".
//!     city: String,
//! }
//!
//! let tools = Toolbox::new().tool(|args: Weather| async move {
//!     Ok::<_, std::convert::Infallible>(serde_json::json!({"city": args.city, "celsius": 21}))
//! });
//! let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)])?;
//! let run = client
//!     .ainvoke(&[Message::user("Weather in Paris?")], Model::Gpt4o)
//!     .run_tools(&tools)
//!     .await?;
//! assert_eq!(run.rounds, 2); // a tool call, then the answer
//! println!("{} (cost {})", run.response.content().unwrap_or_default(), run.cost);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use crate::catalog::Usd;
use crate::error::{Error, Result};
use crate::message::{Message, ToolCall};
use crate::response::{ChatResponse, StreamChunk, Usage};
use crate::schema::LlmSchema;

/// A tool the model may call: a name, a description and a JSON Schema of
/// its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The function name.
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// The JSON Schema of its arguments (an object).
    pub parameters: Value,
    /// Whether the schema is strict (every [`LlmSchema`] is).
    pub strict: bool,
}

impl Tool {
    /// The tool whose arguments are a `T`: name and description from the
    /// type (its name and doc comment), parameters from its strict schema.
    pub fn of<T: LlmSchema>() -> Tool {
        Tool {
            name: T::llm_name().to_owned(),
            description: T::llm_description().map(str::to_owned),
            parameters: T::llm_schema(),
            strict: true,
        }
    }

    /// A tool from its parts (a hand-written, non-strict schema).
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Tool {
        Tool {
            name: name.into(),
            description: Some(description.into()),
            parameters,
            strict: false,
        }
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call tools.
    None,
    /// The model must call this tool.
    Named(String),
}

impl ToolCall {
    /// The call's arguments parsed as `T`.
    pub fn arguments_as<T: serde::de::DeserializeOwned>(&self, model: &'static str) -> Result<T> {
        parse_json(model, &self.function.arguments)
    }
}

/// Parses JSON text into `T`, as the model gave it (a Markdown code fence
/// around it is tolerated).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    model: &'static str,
    raw: &str,
) -> Result<T> {
    serde_json::from_str(strip_fence(raw)).map_err(|source| Error::InvalidOutput {
        model,
        raw: raw.to_owned(),
        source,
    })
}

/// ```` ```json\n{...}\n``` ```` to `{...}`: JSON-mode models often fence.
fn strip_fence(raw: &str) -> &str {
    let trimmed = raw.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// Assembles streamed tool-call fragments into whole calls.
///
/// Fragments of one call share an `index`; calls may interleave, and the
/// arguments arrive in pieces of any length.
///
/// Calls are kept by the index the provider sent, not at that position of a
/// vector: an index is whatever number the wire carried (up to `u32::MAX`),
/// and memory must follow the fragments received, not the largest index.
/// [`finish`](Self::finish) returns the calls in index order; an index no
/// fragment carried leaves no empty call behind.
///
/// ```
/// use llmax::{StreamChunk, ToolCallCollector, ToolCallDelta};
///
/// let mut calls = ToolCallCollector::default();
/// for (index, id, name, args) in [(0, Some("a"), Some("f"), "{\"x\""), (1, Some("b"), Some("g"), "{}"), (0, None, None, ":1}")] {
///     let mut delta = ToolCallDelta::new(index).with_arguments(args);
///     if let (Some(id), Some(name)) = (id, name) {
///         delta = delta.with_id(id).with_name(name);
///     }
///     let mut chunk = StreamChunk::default();
///     chunk.tool_calls.push(delta);
///     calls.push(&chunk);
/// }
/// let calls = calls.finish();
/// assert_eq!(calls[0].function.arguments, "{\"x\":1}");
/// assert_eq!(calls[1].function.name, "g");
/// ```
#[derive(Debug, Default, Clone)]
pub struct ToolCallCollector {
    calls: BTreeMap<u32, ToolCall>,
}

impl ToolCallCollector {
    /// Adds the tool-call fragments of a chunk.
    pub fn push(&mut self, chunk: &StreamChunk) {
        for delta in &chunk.tool_calls {
            let call = self
                .calls
                .entry(delta.index)
                .or_insert_with(|| ToolCall::function("", "", ""));
            if let Some(id) = &delta.id {
                call.id.clone_from(id);
            }
            if let Some(name) = &delta.name {
                call.function.name.push_str(name);
            }
            if let Some(arguments) = &delta.arguments {
                call.function.arguments.push_str(arguments);
            }
            if let Some(signature) = &delta.thought_signature {
                call.thought_signature = Some(signature.clone());
            }
        }
    }

    /// Whether no fragment was seen.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The whole calls, in index order (only the indices that were seen).
    pub fn finish(self) -> Vec<ToolCall> {
        self.calls.into_values().collect()
    }
}

type Handler = Arc<dyn Fn(String) -> BoxFuture<'static, String> + Send + Sync>;

/// Tools and the code that runs them, for [`Call::run_tools`](crate::Call::run_tools).
#[derive(Clone)]
pub struct Toolbox {
    tools: Vec<(Tool, Handler)>,
    max_rounds: u32,
}

impl Default for Toolbox {
    fn default() -> Toolbox {
        Toolbox {
            tools: Vec::new(),
            max_rounds: Toolbox::DEFAULT_MAX_ROUNDS,
        }
    }
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .tools
            .iter()
            .map(|(tool, _)| tool.name.as_str())
            .collect();
        f.debug_struct("Toolbox")
            .field("tools", &names)
            .field("max_rounds", &self.max_rounds)
            .finish()
    }
}

impl Toolbox {
    /// Model calls a tool loop makes at most, unless set otherwise.
    pub const DEFAULT_MAX_ROUNDS: u32 = 8;

    /// An empty toolbox.
    pub fn new() -> Toolbox {
        Toolbox::default()
    }

    /// The most model calls a tool loop makes (at least 1); when reached with
    /// tool calls pending, the loop stops with [`ToolRun::stopped_early`].
    #[must_use]
    pub fn max_rounds(mut self, rounds: u32) -> Toolbox {
        self.max_rounds = rounds.max(1);
        self
    }

    pub(crate) fn rounds_limit(&self) -> u32 {
        self.max_rounds
    }

    /// Adds the tool whose arguments are a `T` (see [`Tool::of`]) and the
    /// async function that runs it. Its `Ok` value is sent back to the
    /// model as JSON; its `Err`, and arguments that do not parse, are sent
    /// back as an error message the model can react to.
    #[must_use]
    pub fn tool<T, F, Fut, R, E>(mut self, run: F) -> Toolbox
    where
        T: LlmSchema + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<R, E>> + Send + 'static,
        R: Serialize,
        E: Display,
    {
        let run = Arc::new(run);
        let handler: Handler = Arc::new(move |arguments: String| {
            let run = run.clone();
            Box::pin(async move {
                let parsed: std::result::Result<T, _> =
                    serde_json::from_str(strip_fence(&arguments));
                match parsed {
                    Err(error) => format!("error: the arguments do not match the schema: {error}"),
                    Ok(arguments) => match run(arguments).await {
                        Ok(value) => serde_json::to_string(&value).unwrap_or_else(|error| {
                            format!("error: the result does not serialize: {error}")
                        }),
                        Err(error) => format!("error: {error}"),
                    },
                }
            })
        });
        self.tools.push((Tool::of::<T>(), handler));
        self
    }

    /// The tools' definitions.
    pub fn definitions(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter().map(|(tool, _)| tool)
    }

    /// Runs one call; an unknown tool is answered with an error message.
    pub(crate) fn run(&self, call: &ToolCall) -> BoxFuture<'static, String> {
        match self
            .tools
            .iter()
            .find(|(tool, _)| tool.name == call.function.name)
        {
            Some((_, handler)) => handler(call.function.arguments.clone()),
            None => {
                let known: Vec<&str> = self
                    .tools
                    .iter()
                    .map(|(tool, _)| tool.name.as_str())
                    .collect();
                let message = format!(
                    "error: there is no tool `{}`; the tools are: {}",
                    call.function.name,
                    known.join(", ")
                );
                Box::pin(async move { message })
            }
        }
    }
}

/// The outcome of a tool loop.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolRun {
    /// The last response (the final answer, unless `stopped_early`).
    pub response: ChatResponse,
    /// The whole conversation: the caller's messages, every tool call and
    /// result, and the final answer.
    pub messages: Vec<Message>,
    /// Token counts summed over every round.
    pub usage: Usage,
    /// Cost summed over every round.
    pub cost: Usd,
    /// How many model calls were made.
    pub rounds: u32,
    /// The maximum number of rounds was reached with tool calls pending.
    pub stopped_early: bool,
}

#[cfg(test)]
mod tests {
    use super::strip_fence;

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(strip_fence("  {\"a\": 1} "), "{\"a\": 1}");
        assert_eq!(strip_fence("```\n[1]\n```\n"), "[1]");
    }
}
