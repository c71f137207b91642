//! Chat calls: the entry points, the [`Call`] builder and its kinds, typed
//! answers and the tool loop. Each builds a chat request with the
//! deployment's protocol and hands it to the engine.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::MultiAIClient;
use crate::catalog::{ModelId, ModelInfo, Usd};
use crate::engine::{Exchange, Target};
use crate::error::Result;
use crate::message::Message;
use crate::options::{CallOptions, ResponseFormat};
use crate::protocol::Operation;
use crate::response::{ChatResponse, Usage};
use crate::schema::LlmSchema;
use crate::stream::ChatStream;
use crate::structured::TypedStream;
use crate::tools::{Tool, ToolChoice, ToolRun, Toolbox, parse_json};
use crate::transport::RequestBody;
use crate::transport::http::Http;

impl MultiAIClient {
    /// Calls the model and returns the whole response. Set options on the
    /// returned builder, then `.await` it.
    pub fn ainvoke<'a>(&'a self, messages: &'a [Message], model: impl ModelId) -> Call<'a, Invoke> {
        Call::new(self, messages, model.info())
    }

    /// Calls the model and returns the answer text.
    pub fn ainvoke_to_str<'a>(
        &'a self,
        messages: &'a [Message],
        model: impl ModelId,
    ) -> Call<'a, InvokeToStr> {
        Call::new(self, messages, model.info())
    }

    /// Calls the model and streams its answer. `.await` the builder to get
    /// the [`ChatStream`] once the provider has accepted the request.
    pub fn astream<'a>(
        &'a self,
        messages: &'a [Message],
        model: impl ModelId,
    ) -> Call<'a, Streaming> {
        Call::new(self, messages, model.info())
    }

    /// Calls the model for a typed answer: the schema of `T` is sent in the
    /// provider's dialect (strict `json_schema`, a forced tool call for
    /// Anthropic, JSON mode plus the schema in the prompt where the manifest
    /// says only that is supported), and the answer is parsed into `T`.
    ///
    /// An answer that does not parse is [`Error::InvalidOutput`](crate::Error::InvalidOutput), with the
    /// raw text and the serde error; with `tries` above 1 the model is shown
    /// the error and asked again. A refusal is [`Error::Refusal`](crate::Error::Refusal).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
    ///
    /// /// A city and its country.
    /// #[derive(Debug, llmax::LlmSchema, serde::Deserialize)]
    /// struct Place {
    ///     city: String,
    ///     country: String,
    /// }
    ///
    /// let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)])?;
    /// let place: Place = client
    ///     .ainvoke_typed(&[Message::user("Where is the Eiffel tower?")], Model::Gpt4o)
    ///     .tries(2)
    ///     .await?;
    /// println!("{place:?}");
    /// # Ok(()) }
    /// ```
    pub fn ainvoke_typed<'a, T: LlmSchema>(
        &'a self,
        messages: &'a [Message],
        model: impl ModelId,
    ) -> Call<'a, Typed<T>> {
        Call::new(self, messages, model.info())
    }

    /// Streams a typed answer: its JSON text as it arrives, each piece
    /// followed by the value so far (a partial `T`, every field optional),
    /// then the parsed `T` (see [`TypedStream`] and [`TypedEvent`](crate::TypedEvent)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use futures_util::StreamExt;
    /// use llmax::{Deployment, Message, Model, MultiAIClient, Provider, TypedEvent};
    ///
    /// #[derive(Debug, llmax::LlmSchema, serde::Deserialize)]
    /// struct Joke {
    ///     setup: String,
    ///     punchline: String,
    ///     rating: Option<u8>,
    /// }
    ///
    /// let client = MultiAIClient::new([Deployment::new(Model::Gpt4o, Provider::Mock)])?;
    /// let mut stream = client
    ///     .astream_typed::<Joke>(&[Message::user("A joke about crabs")], Model::Gpt4o)
    ///     .await?;
    /// while let Some(event) = stream.next().await {
    ///     match event? {
    ///         TypedEvent::Delta(_) => {}
    ///         TypedEvent::Partial(joke) => println!("so far: {:?}", joke.setup),
    ///         TypedEvent::Done(joke) => println!("{joke:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn astream_typed<'a, T: LlmSchema>(
        &'a self,
        messages: &'a [Message],
        model: impl ModelId,
    ) -> Call<'a, TypedStreaming<T>> {
        Call::new(self, messages, model.info())
    }

    /// One chat request, whole.
    pub(super) async fn chat(
        &self,
        http: &Http,
        messages: &[Message],
        model: &'static ModelInfo,
        options: &CallOptions,
        name: &'static str,
    ) -> Result<ChatResponse> {
        let route = self.route(model, Operation::Chat, options.fallback.as_deref())?;
        let body = |target: &Target| chat_body(target, messages, options, false);
        let prompt = || prompt_json(messages, options);
        let exchange = Exchange {
            route,
            operation: Operation::Chat,
            body: &body,
            options,
            name,
            prompt: Some(&prompt),
        };
        let decoded = self
            .inner
            .engine
            .whole(http, exchange, |target, body| {
                let parsed = target
                    .adapter
                    .chat_parse(target.resolved.provider.name, body)?;
                let usage = parsed.usage;
                Ok((parsed, usage))
            })
            .await?;
        let parsed = decoded.value;
        let answered = decoded.target;
        if self.inner.engine.trace_content && !decoded.span.is_disabled() {
            let answer = serde_json::to_string(&parsed.choices).unwrap_or_default();
            decoded.span.record("gen_ai.output.messages", answer);
        }
        Ok(ChatResponse {
            id: parsed.id,
            model: parsed.model,
            catalog_model: answered.resolved.model.name,
            provider: answered.resolved.provider.name,
            deployment: answered.label.clone(),
            choices: parsed.choices,
            usage: decoded.usage,
            cost: decoded.cost,
            latency: decoded.latency,
        })
    }

    /// One chat request, streamed.
    async fn chat_stream(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        options: &CallOptions,
        name: &'static str,
    ) -> Result<ChatStream> {
        let route = self.route(model, Operation::Chat, options.fallback.as_deref())?;
        let body = |target: &Target| chat_body(target, messages, options, true);
        let prompt = || prompt_json(messages, options);
        let exchange = Exchange {
            route,
            operation: Operation::Chat,
            body: &body,
            options,
            name,
            prompt: Some(&prompt),
        };
        let engine = &self.inner.engine;
        engine
            .stream(&engine.http, exchange, |target| {
                target.adapter.chat_decoder(target.resolved.provider.name)
            })
            .await
    }

    /// A typed answer, asked again (with the parse error shown) while tries
    /// are left.
    pub(super) async fn chat_typed<T: LlmSchema>(
        &self,
        http: &Http,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
        name: &'static str,
    ) -> Result<T> {
        let target = self.target(model, Operation::Chat)?;
        let dialect = target.adapter.dialect(&target.resolved);
        dialect.apply::<T>(&mut options);
        self.keep_same_protocol_fallbacks(target, &mut options);
        let mut conversation = std::borrow::Cow::Borrowed(messages);
        let mut attempt = 1;
        loop {
            let response = self
                .chat(http, &conversation, model, &options, name)
                .await?;
            let raw = dialect.raw(&response)?;
            match parse_json::<T>(model.name, &raw) {
                Ok(value) => return Ok(value),
                Err(error) if attempt < options.tries => {
                    tracing::warn!(model = model.name, attempt, %error, "llmax: typed answer did not parse, asking again");
                    let correction = dialect.correction(&response, &raw, &error);
                    conversation.to_mut().extend(correction);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn chat_stream_typed<T: LlmSchema>(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
    ) -> Result<TypedStream<T>> {
        let target = self.target(model, Operation::Chat)?;
        let dialect = target.adapter.dialect(&target.resolved);
        dialect.apply::<T>(&mut options);
        self.keep_same_protocol_fallbacks(target, &mut options);
        let stream = self
            .chat_stream(messages, model, &options, "astream_typed")
            .await?;
        Ok(TypedStream::new(stream, dialect, model.name))
    }

    async fn tool_loop(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
        toolbox: &Toolbox,
    ) -> Result<ToolRun> {
        options.tools = toolbox.definitions().cloned().collect();
        let http = &self.inner.engine.http;
        let mut conversation = messages.to_vec();
        let mut usage = Usage::default();
        let mut cost = Usd::ZERO;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let response = self
                .chat(http, &conversation, model, &options, "run_tools")
                .await?;
            usage = usage + response.usage;
            cost += response.cost;
            let calls = response.tool_calls().to_vec();
            let content = response.content().map(crate::message::Content::from);
            let done = calls.is_empty();
            conversation.push(Message::Assistant {
                content,
                tool_calls: calls.clone(),
                name: None,
            });
            if done || rounds >= toolbox.rounds_limit() {
                return Ok(ToolRun {
                    response,
                    messages: conversation,
                    usage,
                    cost,
                    rounds,
                    stopped_early: !done,
                });
            }
            let results =
                futures_util::future::join_all(calls.iter().map(|call| toolbox.run(call))).await;
            for (call, result) in calls.iter().zip(results) {
                conversation.push(Message::tool(call.id.clone(), result));
            }
        }
    }
}

/// The prompt for a span that traces content: the system prompt, then the
/// messages, as llmax serializes them.
fn prompt_json(messages: &[Message], options: &CallOptions) -> String {
    let system = options
        .system
        .as_deref()
        .map(|system| serde_json::json!({"role": "system", "content": system}));
    let messages = messages
        .iter()
        .map(|message| serde_json::to_value(message).unwrap_or_default());
    let all: Vec<serde_json::Value> = system.into_iter().chain(messages).collect();
    serde_json::to_string(&all).unwrap_or_default()
}

/// A chat request body in the protocol of `target`.
fn chat_body(
    target: &Target,
    messages: &[Message],
    options: &CallOptions,
    stream: bool,
) -> Result<RequestBody> {
    let body = target
        .adapter
        .chat_body(&target.resolved, messages, options, stream)?;
    Ok(RequestBody::Json(Bytes::from(body)))
}

pub(super) fn into_text(response: ChatResponse) -> String {
    response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .unwrap_or_default()
}

/// Marks a [`Call`] that returns a [`ChatResponse`].
#[derive(Debug)]
pub enum Invoke {}
/// Marks a [`Call`] that returns the answer text.
#[derive(Debug)]
pub enum InvokeToStr {}
/// Marks a [`Call`] that returns a [`ChatStream`].
#[derive(Debug)]
pub enum Streaming {}
/// Marks a [`Call`] that returns a `T`.
#[derive(Debug)]
pub struct Typed<T>(PhantomData<fn() -> T>);
/// Marks a [`Call`] that returns a [`TypedStream`] of `T`.
#[derive(Debug)]
pub struct TypedStreaming<T>(PhantomData<fn() -> T>);

/// A call being set up: set options, then `.await` it.
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use std::time::Duration;
/// use llmax::{Message, Model};
///
/// let messages = [Message::user("Raconte moi une blague.")];
/// let text = client
///     .ainvoke_to_str(&messages, Model::Gpt4o)
///     .system("Tu es un assistant utile.")
///     .tries(3)
///     .delay(Duration::from_secs(1))
///     .temperature(0.7)
///     .max_tokens(500)
///     .extra("presence_penalty", 0.5)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, Kind> {
    client: &'a MultiAIClient,
    messages: &'a [Message],
    model: &'static ModelInfo,
    options: CallOptions,
    kind: PhantomData<Kind>,
}

impl<Kind> std::fmt::Debug for Call<'_, Kind> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("model", &self.model.name)
            .field("messages", &self.messages.len())
            .field("options", &self.options)
            .finish()
    }
}

impl<'a, Kind> Call<'a, Kind> {
    fn new(client: &'a MultiAIClient, messages: &'a [Message], model: &'static ModelInfo) -> Self {
        Call {
            client,
            messages,
            model,
            options: CallOptions::default(),
            kind: PhantomData,
        }
    }

    /// Replaces all options at once.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    delegate! {
        /// A system prompt put before the messages.
        system(system: impl Into<String>);
        /// How many attempts in all (retries on 408, 429, 5xx, connection errors).
        tries(tries: u32);
        /// The first delay between attempts.
        delay(delay: Duration);
        /// Sampling temperature.
        temperature(temperature: f64);
        /// Maximum generated tokens.
        max_tokens(max_tokens: u32);
        /// Nucleus sampling.
        top_p(top_p: f64);
        /// Seed.
        seed(seed: i64);
        /// The shape of the answer (JSON mode, a JSON Schema).
        response_format(response_format: ResponseFormat);
        /// Tools the model may call, written in each protocol's shape; read
        /// the calls from the response's tool calls.
        tools(tools: impl IntoIterator<Item = Tool>);
        /// Whether and which tool the model must call.
        tool_choice(choice: ToolChoice);
        /// Whether the model may call several tools in one answer.
        parallel_tool_calls(parallel: bool);
        /// Time for the request: waiting for the response, and reading a
        /// whole body.
        timeout(timeout: Duration);
        /// Longest wait between two stream chunks.
        stream_idle_timeout(timeout: Duration);
        /// Names the call in usage records.
        operation(operation: impl Into<String>);
        /// Places prompt-cache breakpoints (Anthropic).
        prompt_cache(prompt_cache: crate::options::PromptCache);
        /// Tags the call with a user (over the client's scope).
        user(user: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a tenant (over the client's scope).
        tenant(tenant: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a project (over the client's scope).
        project(project: impl Into<std::sync::Arc<str>>);
        /// How much the model thinks before it answers (Gemini).
        thinking(thinking: crate::options::Thinking);
        /// The models tried, in order, if this one has no healthy
        /// deployment or its attempts fail with an error a retry may cure
        /// (instead of the client's `fallback_models`; empty: none). They
        /// may speak another protocol; each must have a deployment.
        fallback(models: impl IntoIterator<Item = M>) <M: ModelId>;
        /// Stop sequences.
        stop(stop: impl IntoIterator<Item = S>) <S: Into<String>>;
        /// Any other API field, passed through untouched, in the provider's
        /// own shape.
        extra(key: impl Into<String>, value: impl Into<Value>);
    }
}

impl<'a> IntoFuture for Call<'a, Invoke> {
    type Output = Result<ChatResponse>;
    type IntoFuture = BoxFuture<'a, Result<ChatResponse>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .chat(http, self.messages, self.model, &self.options, "ainvoke")
                .await
        })
    }
}

impl<'a> Call<'a, Invoke> {
    /// Runs a tool loop: calls the model with the toolbox's tools, runs the
    /// tools it asks for concurrently, feeds their results back, and stops
    /// at an answer without tool calls or after the toolbox's maximum number
    /// of rounds. Usage and cost are summed over the rounds (each round is
    /// also reported to `increment_usage` on its own).
    pub async fn run_tools(self, toolbox: &Toolbox) -> Result<ToolRun> {
        self.client
            .tool_loop(self.messages, self.model, self.options, toolbox)
            .await
    }
}

impl<'a, T: LlmSchema + 'a> IntoFuture for Call<'a, Typed<T>> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'a, Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .chat_typed(
                    http,
                    self.messages,
                    self.model,
                    self.options,
                    "ainvoke_typed",
                )
                .await
        })
    }
}

impl<'a, T: LlmSchema + 'a> IntoFuture for Call<'a, TypedStreaming<T>> {
    type Output = Result<TypedStream<T>>;
    type IntoFuture = BoxFuture<'a, Result<TypedStream<T>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            self.client
                .chat_stream_typed(self.messages, self.model, self.options),
        )
    }
}

impl<'a> IntoFuture for Call<'a, InvokeToStr> {
    type Output = Result<String>;
    type IntoFuture = BoxFuture<'a, Result<String>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .chat(
                    http,
                    self.messages,
                    self.model,
                    &self.options,
                    "ainvoke_to_str",
                )
                .await
                .map(into_text)
        })
    }
}

impl<'a> IntoFuture for Call<'a, Streaming> {
    type Output = Result<ChatStream>;
    type IntoFuture = BoxFuture<'a, Result<ChatStream>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.client
                .chat_stream(self.messages, self.model, &self.options, "astream")
                .await
        })
    }
}
