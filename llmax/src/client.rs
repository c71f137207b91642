//! `MultiAIClient`: one client over many deployments.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::catalog::{Auth, Catalog, ModelId, ModelInfo, Usd};
use crate::deployment::{Deployment, DeploymentConfig, Resolved};
use crate::error::{Error, Result, TimeoutPhase};
use crate::message::Message;
use crate::options::CallOptions;
use crate::protocol::{Adapter, Parsed};
use crate::response::{ChatResponse, Usage};
use crate::schema::LlmSchema;
use crate::stream::{Accounting, ChatStream, Live};
use crate::structured::{Dialect, TypedStream};
use crate::tools::{Tool, ToolChoice, ToolRun, Toolbox, parse_json};
use crate::usage::{ClosureHooks, UsageHooks, UsageRecord};

/// Default time to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a whole non-streamed call (LLM answers can be slow).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Default longest wait between two stream chunks.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The largest non-streamed response body llmax reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The largest error body llmax reads (the rest is dropped).
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// Upper bound of the exponential backoff between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One client over many deployments: the Python llmax's `MultiAIClient`.
///
/// Cheap to clone (an `Arc` inside); share one per application.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
///
/// let client = MultiAIClient::builder()
///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
///     .increment_usage(|record| async move {
///         println!("{} cost {}", record.model, record.cost);
///     })
///     .build()?;
///
/// let messages = [Message::user("Tell me a joke.")];
/// let response = client
///     .ainvoke(&messages, Model::Gpt4o)
///     .system("You are funny.")
///     .temperature(0.7)
///     .await?;
/// println!("{}", response.content().unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MultiAIClient {
    inner: Arc<Inner>,
}

struct Inner {
    deployments: HashMap<&'static str, Arc<Prepared>>,
    http: reqwest::Client,
    hooks: Arc<dyn UsageHooks>,
    budget: Option<Usd>,
    timeout: Duration,
    stream_idle_timeout: Duration,
    connect_timeout: Duration,
    /// Created on the first blocking call: a one-worker runtime and its own
    /// HTTP client, so that no runtime or thread is started per call, and
    /// the async client's connections never depend on it.
    blocking: OnceLock<std::result::Result<Blocking, String>>,
}

struct Blocking {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// A deployment with everything a request needs, computed once.
struct Prepared {
    resolved: Resolved,
    adapter: Adapter,
    url: Option<reqwest::Url>,
    headers: HeaderMap,
}

impl std::fmt::Debug for MultiAIClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut models: Vec<&str> = self.inner.deployments.keys().copied().collect();
        models.sort_unstable();
        f.debug_struct("MultiAIClient")
            .field("models", &models)
            .field("budget", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

/// Builds a [`MultiAIClient`]: deployments, usage hooks, budget, timeouts.
#[must_use]
pub struct ClientBuilder {
    deployments: Vec<Deployment>,
    closures: ClosureHooks,
    hooks: Option<Arc<dyn UsageHooks>>,
    budget: Option<Usd>,
    timeout: Duration,
    stream_idle_timeout: Duration,
    connect_timeout: Duration,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// Adds a deployment.
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployments.push(deployment);
        self
    }

    /// Adds deployments.
    pub fn deployments(mut self, deployments: impl IntoIterator<Item = Deployment>) -> Self {
        self.deployments.extend(deployments);
        self
    }

    /// Called exactly once after each call that reached a provider, with
    /// what it used and cost.
    pub fn increment_usage<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(UsageRecord) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.closures.set_increment(hook);
        self
    }

    /// Called before each call when a [`budget`](Self::budget) is set: what
    /// has been spent so far (`None`: unknown, the call goes ahead).
    pub fn get_usage<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Usd>> + Send + 'static,
    {
        self.closures.set_get(hook);
        self
    }

    /// Uses a [`UsageHooks`] implementation (instead of closures).
    pub fn hooks(mut self, hooks: impl UsageHooks) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Refuses calls, before any network traffic, once `get_usage` reports
    /// at least this much spent.
    pub fn budget(mut self, budget: Usd) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Default whole-request timeout (non-streamed calls, stream headers).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Default longest wait between two stream chunks.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Time to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Uses this HTTP client for async calls (proxies, custom TLS...). Its
    /// own timeouts apply on top of llmax's.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks every deployment and builds the client.
    ///
    /// Fails with [`Error::Config`] on a deployment that misses a field its
    /// provider requires (Azure without `endpoint`, Scaleway with neither
    /// `endpoint` nor `project_id`...), on a model its provider does not
    /// serve, or on two deployments of the same model.
    pub fn build(self) -> Result<MultiAIClient> {
        let mut deployments = HashMap::with_capacity(self.deployments.len());
        for deployment in &self.deployments {
            let prepared = prepare(deployment)?;
            let name = deployment.model().name;
            if deployments.insert(name, Arc::new(prepared)).is_some() {
                return Err(Error::Config(format!(
                    "two deployments of model `{name}`; keep one"
                )));
            }
        }
        let http = match self.http {
            Some(http) => http,
            None => http_client(self.connect_timeout)?,
        };
        let hooks = self
            .hooks
            .unwrap_or_else(|| Arc::new(self.closures) as Arc<dyn UsageHooks>);
        Ok(MultiAIClient {
            inner: Arc::new(Inner {
                deployments,
                http,
                hooks,
                budget: self.budget,
                timeout: self.timeout,
                stream_idle_timeout: self.stream_idle_timeout,
                connect_timeout: self.connect_timeout,
                blocking: OnceLock::new(),
            }),
        })
    }
}

fn http_client(connect_timeout: Duration) -> Result<reqwest::Client> {
    // reqwest has no rustls crypto provider of its own here (llmax/Cargo.toml
    // says why): ring, unless the application installed one. An Err means
    // one was installed meanwhile, which serves as well.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .build()
        .map_err(|error| Error::Config(format!("cannot build the HTTP client: {error}")))
}

fn prepare(deployment: &Deployment) -> Result<Prepared> {
    let resolved = deployment.resolve()?;
    let adapter = Adapter::for_protocol(resolved.provider.protocol);
    let url = adapter.chat_url(&resolved)?;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in resolved.provider.headers {
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_str(value);
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.insert(name, value);
        }
    }
    if let Some(key) = &resolved.api_key {
        let (name, value) = match resolved.provider.auth {
            Auth::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose_secret())),
            Auth::ApiKeyHeader => (
                HeaderName::from_static("api-key"),
                key.expose_secret().to_owned(),
            ),
            Auth::XApiKey => (
                HeaderName::from_static("x-api-key"),
                key.expose_secret().to_owned(),
            ),
            Auth::None => (AUTHORIZATION, String::new()),
        };
        if !value.is_empty() {
            // The message names no part of the key.
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                Error::Config(format!(
                    "deployment of `{}` on `{}`: the API key has characters not allowed in a header",
                    resolved.model.name, resolved.provider.name
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    Ok(Prepared {
        resolved,
        adapter,
        url,
        headers,
    })
}

/// A configuration file of deployments (see [`MultiAIClient::from_config`]).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    deployments: Vec<DeploymentConfig>,
}

impl MultiAIClient {
    /// A client over these deployments, with default hooks and timeouts.
    ///
    /// ```
    /// use llmax::{Deployment, Model, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::new([
    ///     Deployment::new(Model::Gpt4o, Provider::OpenAi).api_key("sk-..."),
    ///     Deployment::new(Model::ScalewayLlama3_3_70bInstruct, Provider::Scaleway)
    ///         .api_key("scw-...")
    ///         .project_id("my-project"),
    /// ])?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn new(deployments: impl IntoIterator<Item = Deployment>) -> Result<MultiAIClient> {
        MultiAIClient::builder().deployments(deployments).build()
    }

    /// A builder for hooks, budget and timeouts.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            deployments: Vec::new(),
            closures: ClosureHooks::default(),
            hooks: None,
            budget: None,
            timeout: DEFAULT_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            http: None,
        }
    }

    /// Reads deployments from a TOML file, with `${ENV_VAR}` replaced by the
    /// variable's value (a missing variable is an error naming it), and
    /// builds a client over them from the default catalog.
    ///
    /// ```toml
    /// [[deployments]]
    /// model = "gpt-4o"
    /// provider = "azure"
    /// deployment_name = "gpt-4o-2024-05-13"
    /// endpoint = "${AZURE_OPENAI_ENDPOINT}"
    /// api_key = "${AZURE_OPENAI_API_KEY}"
    /// ```
    pub fn from_config(path: impl AsRef<Path>) -> Result<MultiAIClient> {
        MultiAIClient::builder()
            .config_file(path, &crate::CATALOG)?
            .build()
    }

    /// The deployment of a model, if any.
    pub fn deployment(&self, model: impl ModelId) -> Option<&'static str> {
        self.inner
            .deployments
            .get(model.info().name)
            .map(|prepared| prepared.resolved.provider.name)
    }

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
    /// An answer that does not parse is [`Error::InvalidOutput`], with the
    /// raw text and the serde error; with `tries` above 1 the model is shown
    /// the error and asked again. A refusal is [`Error::Refusal`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
    ///
    /// /// A city and its country.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema, llmax::LlmSchema)]
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

    /// Streams a typed answer: its JSON text as it arrives, then the parsed
    /// `T` (see [`TypedStream`]).
    pub fn astream_typed<'a, T: LlmSchema>(
        &'a self,
        messages: &'a [Message],
        model: impl ModelId,
    ) -> Call<'a, TypedStreaming<T>> {
        Call::new(self, messages, model.info())
    }

    /// Blocking [`ainvoke_typed`](Self::ainvoke_typed), with default options.
    pub fn invoke_typed<T: LlmSchema>(
        &self,
        messages: &[Message],
        model: impl ModelId,
    ) -> Result<T> {
        self.invoke_typed_with(messages, model, CallOptions::default())
    }

    /// Blocking [`ainvoke_typed`](Self::ainvoke_typed) with options.
    pub fn invoke_typed_with<T: LlmSchema>(
        &self,
        messages: &[Message],
        model: impl ModelId,
        options: CallOptions,
    ) -> Result<T> {
        let model = model.info();
        self.block_on("invoke_typed", |http| {
            self.execute_typed(http, messages, model, options, "invoke_typed")
        })
    }

    /// Blocking [`ainvoke`](Self::ainvoke), with default options.
    ///
    /// Works without an async runtime (llmax keeps one worker thread for all
    /// blocking calls of a client); inside one it returns
    /// [`Error::BlockingInRuntime`] instead of blocking a worker.
    pub fn invoke(&self, messages: &[Message], model: impl ModelId) -> Result<ChatResponse> {
        self.invoke_with(messages, model, CallOptions::default())
    }

    /// Blocking [`ainvoke`](Self::ainvoke) with options.
    pub fn invoke_with(
        &self,
        messages: &[Message],
        model: impl ModelId,
        options: CallOptions,
    ) -> Result<ChatResponse> {
        let model = model.info();
        self.block_on("invoke", |http| {
            self.execute(http, messages, model, options, "invoke")
        })
    }

    /// Blocking [`ainvoke_to_str`](Self::ainvoke_to_str), with default options.
    pub fn invoke_to_str(&self, messages: &[Message], model: impl ModelId) -> Result<String> {
        self.invoke_to_str_with(messages, model, CallOptions::default())
    }

    /// Blocking [`ainvoke_to_str`](Self::ainvoke_to_str) with options.
    pub fn invoke_to_str_with(
        &self,
        messages: &[Message],
        model: impl ModelId,
        options: CallOptions,
    ) -> Result<String> {
        let model = model.info();
        self.block_on("invoke_to_str", |http| async move {
            self.execute(http, messages, model, options, "invoke_to_str")
                .await
                .map(into_text)
        })
    }

    fn block_on<'s, T, F, Fut>(&'s self, name: &'static str, call: F) -> Result<T>
    where
        F: FnOnce(&'s reqwest::Client) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInRuntime(name));
        }
        let blocking = self
            .inner
            .blocking
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("llmax-blocking")
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot start the blocking runtime: {error}"))?;
                let http = runtime
                    .block_on(async { http_client(self.inner.connect_timeout) })
                    .map_err(|error| error.to_string())?;
                Ok(Blocking { runtime, http })
            })
            .as_ref()
            .map_err(|error| Error::Config(error.clone()))?;
        blocking.runtime.block_on(call(&blocking.http))
    }

    fn prepared(&self, model: &'static ModelInfo) -> Result<&Arc<Prepared>> {
        self.inner.deployments.get(model.name).ok_or_else(|| {
            let mut deployed: Vec<&str> = self.inner.deployments.keys().copied().collect();
            deployed.sort_unstable();
            Error::NoDeployment {
                model: model.name,
                deployed: if deployed.is_empty() {
                    "none".to_owned()
                } else {
                    deployed.join(", ")
                },
            }
        })
    }

    /// Refuses the call if the budget is spent. Runs before any traffic.
    async fn check_budget(&self) -> Result<()> {
        let Some(budget) = self.inner.budget else {
            return Ok(());
        };
        match self.inner.hooks.get_usage().await {
            Some(spent) if spent >= budget => Err(Error::Budget { spent, budget }),
            _ => Ok(()),
        }
    }

    fn accounting(&self, prepared: &Prepared, operation: String, started: Instant) -> Accounting {
        Accounting {
            hooks: self.inner.hooks.clone(),
            model: prepared.resolved.model.name,
            provider: prepared.resolved.provider.name,
            operation,
            price: prepared.resolved.price,
            started,
            attempts: 0,
            time_to_first_token: None,
        }
    }

    async fn execute(
        &self,
        http: &reqwest::Client,
        messages: &[Message],
        model: &'static ModelInfo,
        options: CallOptions,
        operation: &'static str,
    ) -> Result<ChatResponse> {
        let prepared = self.prepared(model)?.clone();
        let resolved = &prepared.resolved;
        let body = Bytes::from(prepared.adapter.body(resolved, messages, &options, false)?);
        self.check_budget().await?;
        let started = Instant::now();
        let mut accounting = self.accounting(
            &prepared,
            options
                .operation
                .clone()
                .unwrap_or_else(|| operation.to_owned()),
            started,
        );
        let Some(url) = &prepared.url else {
            let parsed = crate::mock::respond(model.name, &options, messages);
            accounting.attempts = 1;
            return Ok(self
                .finish(&prepared, parsed, started.elapsed(), accounting)
                .await);
        };
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let mut backoff = backoff(&options);
        let mut reached = false;
        loop {
            accounting.attempts += 1;
            let attempt_started = Instant::now();
            let outcome = send(http, &prepared, url, body.clone(), timeout, &mut reached).await;
            let error = match outcome {
                Ok(response) => match read_body(resolved.provider.name, response, MAX_BODY_BYTES)
                    .await
                {
                    Ok(bytes) => match prepared.adapter.parse(resolved.provider.name, &bytes) {
                        Ok(parsed) => {
                            let latency = attempt_started.elapsed();
                            return Ok(self.finish(&prepared, parsed, latency, accounting).await);
                        }
                        Err(error) => error,
                    },
                    Err(error) => error,
                },
                Err(error) => error,
            };
            if error.is_retryable()
                && let Some(delay) = backoff.next()
            {
                let delay = error.retry_after().unwrap_or(delay);
                tracing::warn!(
                    model = model.name,
                    provider = resolved.provider.name,
                    attempt = accounting.attempts,
                    ?delay,
                    %error,
                    "llmax: retrying"
                );
                tokio::time::sleep(delay).await;
                continue;
            }
            if reached {
                accounting.report(Usage::default(), false).await;
            }
            return Err(error);
        }
    }

    async fn execute_typed<T: LlmSchema>(
        &self,
        http: &reqwest::Client,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
        operation: &'static str,
    ) -> Result<T> {
        let dialect = Dialect::of(&self.prepared(model)?.resolved);
        dialect.apply::<T>(&mut options);
        let mut conversation = std::borrow::Cow::Borrowed(messages);
        let mut attempt = 1;
        loop {
            let response = self
                .execute(http, &conversation, model, options.clone(), operation)
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

    async fn stream_typed<T: LlmSchema>(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
    ) -> Result<TypedStream<T>> {
        let dialect = Dialect::of(&self.prepared(model)?.resolved);
        dialect.apply::<T>(&mut options);
        if options.operation.is_none() {
            options.operation = Some("astream_typed".to_owned());
        }
        let stream = self.stream(messages, model, options).await?;
        Ok(TypedStream::new(stream, dialect, model.name))
    }

    async fn tool_loop(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        mut options: CallOptions,
        toolbox: &Toolbox,
    ) -> Result<ToolRun> {
        let definitions: Vec<Value> = toolbox.definitions().map(Tool::to_openai).collect();
        options
            .extra
            .insert("tools".into(), Value::Array(definitions));
        let mut conversation = messages.to_vec();
        let mut usage = Usage::default();
        let mut cost = Usd::ZERO;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let response = self
                .execute(
                    &self.inner.http,
                    &conversation,
                    model,
                    options.clone(),
                    "run_tools",
                )
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

    /// Costs a parsed response and reports it.
    async fn finish(
        &self,
        prepared: &Prepared,
        parsed: Parsed,
        latency: Duration,
        accounting: Accounting,
    ) -> ChatResponse {
        let cost = parsed.usage.cost(&prepared.resolved.price);
        let usage = parsed.usage;
        accounting.report(usage, true).await;
        ChatResponse {
            id: parsed.id,
            model: parsed.model,
            catalog_model: prepared.resolved.model.name,
            provider: prepared.resolved.provider.name,
            choices: parsed.choices,
            usage,
            cost,
            latency,
        }
    }

    async fn stream(
        &self,
        messages: &[Message],
        model: &'static ModelInfo,
        options: CallOptions,
    ) -> Result<ChatStream> {
        let prepared = self.prepared(model)?.clone();
        let resolved = &prepared.resolved;
        let body = Bytes::from(prepared.adapter.body(resolved, messages, &options, true)?);
        self.check_budget().await?;
        let started = Instant::now();
        let mut accounting = self.accounting(
            &prepared,
            options
                .operation
                .clone()
                .unwrap_or_else(|| "astream".to_owned()),
            started,
        );
        let Some(url) = &prepared.url else {
            accounting.attempts = 1;
            return Ok(mock_stream(
                &prepared, model.name, &options, messages, accounting,
            ));
        };
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let idle = options
            .stream_idle_timeout
            .unwrap_or(self.inner.stream_idle_timeout);
        let mut backoff = backoff(&options);
        let mut reached = false;
        loop {
            accounting.attempts += 1;
            // The whole-request timeout would cut long streams: only the
            // wait for the headers is bounded by it, the rest by `idle`.
            let sent = tokio::time::timeout(
                timeout,
                send(
                    &self.inner.http,
                    &prepared,
                    url,
                    body.clone(),
                    Duration::MAX,
                    &mut reached,
                ),
            )
            .await
            .unwrap_or(Err(Error::Timeout {
                phase: TimeoutPhase::Request,
                after: timeout,
            }));
            match sent {
                Ok(response) => {
                    let live = Live::new(
                        response.bytes_stream(),
                        prepared.adapter.decoder(resolved.provider.name),
                        resolved.provider.name,
                        idle,
                        accounting,
                    );
                    return Ok(ChatStream::new(live));
                }
                Err(error) => {
                    if error.is_retryable()
                        && let Some(delay) = backoff.next()
                    {
                        tokio::time::sleep(error.retry_after().unwrap_or(delay)).await;
                        continue;
                    }
                    if reached {
                        accounting.report(Usage::default(), false).await;
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Adds the deployments of a config file to a builder.
    fn read_config(path: &Path, catalog: &Catalog) -> Result<Vec<Deployment>> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::Config(format!("cannot read {}: {error}", path.display())))?;
        let text = interpolate(&text)
            .map_err(|message| Error::Config(format!("{}: {message}", path.display())))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|error| Error::Config(format!("{}: {error}", path.display())))?;
        file.deployments
            .into_iter()
            .enumerate()
            .map(|(n, entry)| {
                let at = |error: crate::catalog::UnknownName| {
                    Error::Config(format!("{}: deployment {}: {error}", path.display(), n + 1))
                };
                let model = catalog.model(&entry.model).map_err(at)?;
                let provider = catalog.provider(&entry.provider).map_err(at)?;
                let mut deployment = Deployment::new(model, provider);
                deployment.deployment_name = entry.deployment_name;
                deployment.api_key = entry.api_key.map(secrecy::SecretString::from);
                deployment.endpoint = entry.endpoint;
                deployment.api_version = entry.api_version;
                deployment.project_id = entry.project_id;
                deployment.region = entry.region;
                Ok(deployment)
            })
            .collect()
    }
}

impl ClientBuilder {
    /// Adds the deployments of a TOML configuration file, resolving model
    /// and provider names in `catalog` (`&llmax::CATALOG`, or one generated
    /// with [`manifest!`](crate::manifest)). See
    /// [`MultiAIClient::from_config`] for the format.
    pub fn config_file(self, path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let deployments = MultiAIClient::read_config(path.as_ref(), catalog)?;
        Ok(self.deployments(deployments))
    }
}

/// Replaces `${NAME}` with the environment variable `NAME`.
fn interpolate(text: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed `${` in the file".to_owned())?;
        let name = &after[..end];
        let value =
            std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn backoff(options: &CallOptions) -> backon::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(options.delay)
        .with_max_delay(MAX_BACKOFF.max(options.delay))
        .with_max_times(options.tries.saturating_sub(1) as usize)
        .with_jitter()
        .build()
}

/// Sends one attempt and returns the response if its status is a success.
async fn send(
    http: &reqwest::Client,
    prepared: &Prepared,
    url: &reqwest::Url,
    body: Bytes,
    timeout: Duration,
    reached: &mut bool,
) -> Result<reqwest::Response> {
    let provider = prepared.resolved.provider.name;
    let mut request = http
        .post(url.clone())
        .headers(prepared.headers.clone())
        .body(body);
    if timeout != Duration::MAX {
        request = request.timeout(timeout);
    }
    let response = request.send().await.map_err(|source| {
        if !source.is_connect() {
            *reached = true;
        }
        transport_error(provider, source, timeout)
    })?;
    *reached = true;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = read_body(provider, response, MAX_ERROR_BODY_BYTES)
        .await
        .unwrap_or_default();
    Err(prepared
        .adapter
        .error(provider, status.as_u16(), &headers, &body)
        .into())
}

fn transport_error(provider: &'static str, source: reqwest::Error, timeout: Duration) -> Error {
    if source.is_timeout() {
        let phase = if source.is_connect() {
            TimeoutPhase::Connect
        } else {
            TimeoutPhase::Request
        };
        return Error::Timeout {
            phase,
            after: timeout,
        };
    }
    Error::Connection { provider, source }
}

/// Reads a body up to `limit` bytes; past it, a decode error (for success
/// bodies) or the truncated start (the caller decides).
async fn read_body(
    provider: &'static str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>> {
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(4096, |len| (len as usize).min(limit)),
    );
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| transport_error(provider, source, Duration::ZERO))?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > limit {
            if limit == MAX_ERROR_BODY_BYTES {
                body.extend_from_slice(&chunk[..limit - body.len()]);
                return Ok(body);
            }
            return Err(Error::decode(
                provider,
                format!("the response body exceeds {limit} bytes"),
                &body,
            ));
        }
        body.extend_from_slice(&chunk);
    }
}

fn mock_stream(
    prepared: &Prepared,
    model: &str,
    options: &CallOptions,
    messages: &[Message],
    mut accounting: Accounting,
) -> ChatStream {
    let price = prepared.resolved.price;
    let mut chunks = crate::mock::chunks(model, options, messages);
    let mut usage = Usage::default();
    for chunk in &mut chunks {
        if let Some(found) = chunk.usage {
            chunk.cost = Some(found.cost(&price));
            usage = found;
        }
    }
    accounting.time_to_first_token = Some(Duration::ZERO);
    ChatStream::new(crate::stream::Replay::new(chunks, usage, accounting))
}

fn into_text(response: ChatResponse) -> String {
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

macro_rules! delegate {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) $(<$($g:ident: $bound:path),*>)?;)*) => {
        $(
            $(#[$doc])*
            pub fn $name$(<$($g: $bound),*>)?(mut self, $($arg: $ty),*) -> Self {
                self.options = self.options.$name($($arg),*);
                self
            }
        )*
    };
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

    /// Tools the model may call (sent as OpenAI `tools`, translated for
    /// Anthropic); read the calls from the response's tool calls.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        let tools: Vec<Value> = tools.into_iter().map(|tool| tool.to_openai()).collect();
        self.options
            .extra
            .insert("tools".into(), Value::Array(tools));
        self
    }

    /// Whether and which tool the model must call.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.options
            .extra
            .insert("tool_choice".into(), choice.to_openai());
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
        /// `response_format`.
        response_format(response_format: Value);
        /// Whole-request timeout.
        timeout(timeout: Duration);
        /// Longest wait between two stream chunks.
        stream_idle_timeout(timeout: Duration);
        /// Names the call in usage records.
        operation(operation: impl Into<String>);
        /// Places prompt-cache breakpoints (Anthropic).
        prompt_cache(prompt_cache: crate::options::PromptCache);
        /// Stop sequences.
        stop(stop: impl IntoIterator<Item = S>) <S: Into<String>>;
        /// Any other API field, passed through untouched.
        extra(key: impl Into<String>, value: impl Into<Value>);
    }
}

impl<'a> IntoFuture for Call<'a, Invoke> {
    type Output = Result<ChatResponse>;
    type IntoFuture = BoxFuture<'a, Result<ChatResponse>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            client
                .execute(
                    &client.inner.http,
                    self.messages,
                    self.model,
                    self.options,
                    "ainvoke",
                )
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
            client
                .execute_typed(
                    &client.inner.http,
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
                .stream_typed(self.messages, self.model, self.options),
        )
    }
}

impl<'a> IntoFuture for Call<'a, InvokeToStr> {
    type Output = Result<String>;
    type IntoFuture = BoxFuture<'a, Result<String>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            client
                .execute(
                    &client.inner.http,
                    self.messages,
                    self.model,
                    self.options,
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
        Box::pin(self.client.stream(self.messages, self.model, self.options))
    }
}
