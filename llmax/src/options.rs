//! Per-call options: the Python llmax's keyword arguments, typed.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::catalog::{ModelId, ModelInfo};
use crate::schema::LlmSchema;
use crate::tools::{Tool, ToolChoice};
use crate::usage::Scope;

/// Options of one call. Every setter is also available on the call
/// builders returned by [`MultiAIClient::ainvoke`](crate::MultiAIClient::ainvoke)
/// and friends.
///
/// ```
/// use std::time::Duration;
/// use llmax::CallOptions;
///
/// let options = CallOptions::new()
///     .system("You are a helpful assistant.")
///     .temperature(0.7)
///     .max_tokens(500)
///     .tries(3)
///     .delay(Duration::from_millis(500))
///     .extra("logprobs", true);
/// assert_eq!(options.tries, 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CallOptions {
    /// A system prompt put before the messages.
    pub system: Option<String>,
    /// How many attempts in all (1: no retry). Retried: 408, 429, 5xx,
    /// overload, connection failures and timeouts.
    pub tries: u32,
    /// The first delay between attempts; it doubles (with jitter) on each
    /// retry, unless the provider says how long to wait.
    pub delay: Duration,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// The maximum number of tokens to generate (sent as
    /// `max_completion_tokens` to OpenAI, `max_tokens` where the manifest
    /// says so).
    pub max_tokens: Option<u32>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Stop sequences.
    pub stop: Option<Vec<String>>,
    /// A seed for reproducible sampling.
    pub seed: Option<i64>,
    /// The shape of the answer: free text, any JSON object, or JSON that
    /// follows a schema. Each protocol writes it its own way (OpenAI's
    /// `response_format`; Anthropic has none and drops it with a warning).
    pub response_format: Option<ResponseFormat>,
    /// Tools the model may call, written in each protocol's own shape.
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one answer (`None`: the
    /// provider's default).
    pub parallel_tool_calls: Option<bool>,
    /// Any other field, passed through to the API body untouched: llmax
    /// neither reads nor translates it, so it must be in the shape of the
    /// provider's API.
    pub extra: Map<String, Value>,
    /// The whole-request timeout (non-streamed calls, and a stream's
    /// headers); `None`: the client's default.
    pub timeout: Option<Duration>,
    /// The longest wait between two stream chunks; `None`: the client's default.
    pub stream_idle_timeout: Option<Duration>,
    /// A name for this call in usage records (default: the method name).
    pub operation: Option<String>,
    /// Where prompt-cache breakpoints go, for protocols that place them
    /// (Anthropic); others cache on their own and ignore it.
    pub prompt_cache: PromptCache,
    /// Who the call is for; each tag set here wins over the client's
    /// ([`ClientBuilder::scope`](crate::ClientBuilder::scope)).
    pub scope: Scope,
    /// How much the model thinks before it answers (Gemini's
    /// `thinkingConfig`); `None`: the model's default. Protocols without
    /// a thinking setting drop it with a warning.
    pub thinking: Option<Thinking>,
    /// The models tried, in order, if this call's model has no healthy
    /// deployment or its attempts fail (`None`: the client's
    /// [`fallback_models`](crate::ClientBuilder::fallback_models); an empty
    /// list: none).
    pub fallback: Option<Vec<&'static ModelInfo>>,
}

/// How much a model thinks before it answers, and whether its thoughts
/// come back (as [`reasoning`](crate::AssistantMessage::reasoning)).
///
/// Gemini 2.5 models take a token budget, Gemini 3 models a level; the
/// Gemini protocol writes it as `thinkingConfig`, with `includeThoughts`
/// so that thought summaries arrive as reasoning text.
///
/// ```
/// use llmax::{CallOptions, Thinking, ThinkingLevel};
///
/// // Gemini 2.5: at most 1,024 thinking tokens.
/// let options = CallOptions::new().thinking(Thinking::Budget(1024));
/// // Gemini 3: think little, answer fast.
/// let options = CallOptions::new().thinking(Thinking::Level(ThinkingLevel::Low));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Thinking {
    /// No thinking (a budget of 0), where the model allows it.
    Off,
    /// The model decides how much to think (a budget of -1).
    Dynamic,
    /// At most this many thinking tokens.
    Budget(u32),
    /// A level of thinking (Gemini 3).
    Level(ThinkingLevel),
}

/// A level of thinking: [`Thinking::Level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThinkingLevel {
    /// As little as the model can.
    Minimal,
    /// Little: faster and cheaper answers.
    Low,
    /// Some.
    Medium,
    /// As much as the task needs (Gemini 3's default).
    High,
}

/// Prompt-cache breakpoints (Anthropic's `cache_control`).
///
/// Anthropic caches a prompt prefix only up to a breakpoint, and takes at
/// most four. [`Auto`](PromptCache::Auto), the default, does what the Python
/// llmax does: the system prompt, the last tool and the last two messages.
/// Place your own with [`At`](PromptCache::At):
///
/// ```
/// use llmax::{CacheBreakpoint, CallOptions, PromptCache};
///
/// // Cache the system prompt and the long document in message 0 only.
/// let options = CallOptions::new().prompt_cache(PromptCache::At(vec![
///     CacheBreakpoint::System,
///     CacheBreakpoint::Message(0),
/// ]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PromptCache {
    /// The system prompt, the last tool and the last two messages.
    #[default]
    Auto,
    /// No breakpoint.
    Off,
    /// Exactly these breakpoints (at most four; more is an
    /// [`InvalidRequest`](crate::Error::InvalidRequest)).
    At(Vec<CacheBreakpoint>),
}

/// Where a prompt-cache breakpoint goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheBreakpoint {
    /// The end of the system prompt.
    System,
    /// The last tool definition.
    Tools,
    /// The end of the message at this index of the call's messages.
    Message(usize),
}

impl Default for CallOptions {
    fn default() -> CallOptions {
        CallOptions {
            system: None,
            tries: 1,
            delay: Duration::ZERO,
            temperature: None,
            max_tokens: None,
            top_p: None,
            stop: None,
            seed: None,
            response_format: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            extra: Map::new(),
            timeout: None,
            stream_idle_timeout: None,
            operation: None,
            prompt_cache: PromptCache::Auto,
            scope: Scope::new(),
            thinking: None,
            fallback: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $value:expr;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, $name: $ty) -> Self {
                self.$name = $value;
                self
            }
        )*
    };
}

impl CallOptions {
    /// Default options: one try, nothing set.
    pub fn new() -> CallOptions {
        CallOptions::default()
    }

    setters! {
        /// Sets the system prompt.
        system: impl Into<String> => Some(system.into());
        /// Sets the number of attempts (at least 1).
        tries: u32 => tries.max(1);
        /// Sets the first delay between attempts.
        delay: Duration => delay;
        /// Sets the temperature.
        temperature: f64 => Some(temperature);
        /// Sets the maximum number of generated tokens.
        max_tokens: u32 => Some(max_tokens);
        /// Sets nucleus sampling.
        top_p: f64 => Some(top_p);
        /// Sets the seed.
        seed: i64 => Some(seed);
        /// Sets the shape of the answer.
        response_format: ResponseFormat => Some(response_format);
        /// Sets whether and which tool the model must call.
        tool_choice: ToolChoice => Some(tool_choice);
        /// Sets whether the model may call several tools in one answer.
        parallel_tool_calls: bool => Some(parallel_tool_calls);
        /// Sets the whole-request timeout.
        timeout: Duration => Some(timeout);
        /// Sets the longest wait between two stream chunks.
        stream_idle_timeout: Duration => Some(stream_idle_timeout);
        /// Names the call in usage records.
        operation: impl Into<String> => Some(operation.into());
        /// Places prompt-cache breakpoints (Anthropic).
        prompt_cache: PromptCache => prompt_cache;
        /// Sets how much the model thinks (Gemini's `thinkingConfig`).
        thinking: Thinking => Some(thinking);
    }

    /// Sets the stop sequences.
    #[must_use]
    pub fn stop<S: Into<String>>(mut self, stop: impl IntoIterator<Item = S>) -> Self {
        self.stop = Some(stop.into_iter().map(Into::into).collect());
        self
    }

    /// The models tried, in order, if this call's model has no healthy
    /// deployment or its attempts fail with an error a retry may cure,
    /// instead of the client's
    /// [`fallback_models`](crate::ClientBuilder::fallback_models) (an empty
    /// list: no fallback). Each must have a deployment in the client.
    ///
    /// ```
    /// use llmax::CallOptions;
    ///
    /// let options = CallOptions::new().fallback([llmax::model!("claude-4.5-sonnet")]);
    /// assert_eq!(options.fallback.unwrap()[0].name, "claude-4.5-sonnet");
    /// ```
    #[must_use]
    pub fn fallback<M: ModelId>(mut self, models: impl IntoIterator<Item = M>) -> Self {
        self.fallback = Some(models.into_iter().map(ModelId::info).collect());
        self
    }

    /// Adds tools the model may call.
    #[must_use]
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Tags the call with a user (usage records, ledger budgets).
    ///
    /// ```
    /// use llmax::CallOptions;
    ///
    /// let options = CallOptions::new().user("alice").tenant("acme").project("faq");
    /// assert_eq!(options.scope.user_tag(), Some("alice"));
    /// ```
    #[must_use]
    pub fn user(mut self, user: impl Into<std::sync::Arc<str>>) -> Self {
        self.scope = self.scope.user(user);
        self
    }

    /// Tags the call with a tenant.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<std::sync::Arc<str>>) -> Self {
        self.scope = self.scope.tenant(tenant);
        self
    }

    /// Tags the call with a project.
    #[must_use]
    pub fn project(mut self, project: impl Into<std::sync::Arc<str>>) -> Self {
        self.scope = self.scope.project(project);
        self
    }

    /// Adds a field passed through to the API body untouched (it wins over
    /// the typed options if both set the same field).
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// The shape of a model's answer.
///
/// ```
/// use llmax::{CallOptions, ResponseFormat};
///
/// // Any JSON object (OpenAI's JSON mode).
/// let options = CallOptions::new().response_format(ResponseFormat::JsonObject);
/// // JSON that follows a schema, from a type.
/// #[derive(llmax::LlmSchema, serde::Deserialize)]
/// struct Answer {
///     city: String,
/// }
/// let options = CallOptions::new().response_format(ResponseFormat::of::<Answer>());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseFormat {
    /// Free text (the default of every provider).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON that follows a JSON Schema.
    JsonSchema(JsonSchemaFormat),
}

/// A named JSON Schema for [`ResponseFormat::JsonSchema`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JsonSchemaFormat {
    /// The schema's name (OpenAI requires one: letters, digits, `_`, `-`).
    pub name: String,
    /// What the answer is, for the model.
    pub description: Option<String>,
    /// The JSON Schema.
    pub schema: Value,
    /// Whether the provider must follow the schema exactly (OpenAI's strict
    /// mode; every [`LlmSchema`] schema qualifies).
    pub strict: bool,
}

impl ResponseFormat {
    /// JSON that follows `schema`, not strict.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> ResponseFormat {
        ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: name.into(),
            description: None,
            schema,
            strict: false,
        })
    }

    /// JSON that follows the strict schema of `T`, named and described
    /// after it.
    pub fn of<T: LlmSchema>() -> ResponseFormat {
        ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: T::llm_name().to_owned(),
            description: T::llm_description().map(str::to_owned),
            schema: T::llm_schema(),
            strict: true,
        })
    }

    /// Sets whether the schema must be followed exactly (OpenAI's strict
    /// mode); no effect on other formats.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> ResponseFormat {
        if let ResponseFormat::JsonSchema(format) = &mut self {
            format.strict = strict;
        }
        self
    }

    /// Sets the description of the answer, for the model; no effect on
    /// other formats.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> ResponseFormat {
        if let ResponseFormat::JsonSchema(format) = &mut self {
            format.description = Some(description.into());
        }
        self
    }

    /// The schema asked for, if any.
    pub fn schema(&self) -> Option<&Value> {
        match self {
            ResponseFormat::JsonSchema(format) => Some(&format.schema),
            _ => None,
        }
    }
}

/// The per-call part every endpoint's options share: the scope setters
/// (`user`, `tenant`, `project`) and what the engine reads of them
/// (`call_options`). Expands inside the `impl` of a struct with the fields
/// `tries`, `delay`, `timeout`, `operation` and `scope`.
macro_rules! per_call_options {
    () => {
        /// Tags the call with a user (over the client's scope; usage
        /// records, ledger budgets).
        #[must_use]
        pub fn user(mut self, user: impl Into<std::sync::Arc<str>>) -> Self {
            self.scope = self.scope.user(user);
            self
        }

        /// Tags the call with a tenant (over the client's scope).
        #[must_use]
        pub fn tenant(mut self, tenant: impl Into<std::sync::Arc<str>>) -> Self {
            self.scope = self.scope.tenant(tenant);
            self
        }

        /// Tags the call with a project (over the client's scope).
        #[must_use]
        pub fn project(mut self, project: impl Into<std::sync::Arc<str>>) -> Self {
            self.scope = self.scope.project(project);
            self
        }

        /// The options the engine reads (retries, timeout, the name in
        /// usage records, the scope); the body fields are the codec's.
        pub(crate) fn call_options(&self) -> $crate::options::CallOptions {
            $crate::options::CallOptions {
                tries: self.tries.max(1),
                delay: self.delay,
                timeout: self.timeout,
                operation: self.operation.clone(),
                scope: self.scope.clone(),
                ..$crate::options::CallOptions::default()
            }
        }
    };
}
pub(crate) use per_call_options;
