//! [`ClientBuilder`]: deployments, hooks, budget, timeouts; and each
//! deployment prepared once into an engine [`Target`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use super::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT, MultiAIClient};
use crate::catalog::{Auth, ModelId, ModelInfo, Protocol, Usd};
use crate::deployment::Deployment;
use crate::engine::{Engine, GateFn, Target};
use crate::error::{ConfigErrorKind, Error, Result};
use crate::protocol::{Adapter, Operation};
use crate::routing::{DEFAULT_COOLDOWN, Health, Pool, Strategy};
use crate::transport::http::Http;
use crate::usage::{ClosureHooks, Scope, UsageHooks, UsageRecord};

/// Builds a [`MultiAIClient`]: deployments, usage hooks, budget, timeouts.
#[must_use]
pub struct ClientBuilder {
    deployments: Vec<Deployment>,
    closures: ClosureHooks,
    hooks: Option<Arc<dyn UsageHooks>>,
    budget: Option<Usd>,
    gate: Option<Arc<GateFn>>,
    trace_content: bool,
    strategy: Strategy,
    cooldown: Duration,
    fallbacks: Vec<&'static ModelInfo>,
    scope: Scope,
    timeout: Duration,
    stream_idle_timeout: Duration,
    connect_timeout: Duration,
    http: Option<reqwest::Client>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            deployments: Vec::new(),
            closures: ClosureHooks::default(),
            hooks: None,
            budget: None,
            gate: None,
            trace_content: false,
            strategy: Strategy::default(),
            cooldown: DEFAULT_COOLDOWN,
            fallbacks: Vec::new(),
            scope: Scope::new(),
            timeout: DEFAULT_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            http: None,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("deployments", &self.deployments)
            .field("budget", &self.budget)
            .field("gate", &self.gate.is_some())
            .field("trace_content", &self.trace_content)
            .field("strategy", &self.strategy)
            .field("cooldown", &self.cooldown)
            .field(
                "fallbacks",
                &self.fallbacks.iter().map(|m| m.name).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Adds a deployment. A model may have several (regions, providers):
    /// the [strategy](Self::strategy) picks among the healthy ones.
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

    /// Refuses calls, before any network traffic, when `gate` answers
    /// `false` (is the user still active? is the tenant allowed?): the
    /// Python llmax's `get_usage` as a condition. Checked before every
    /// call, beside the [budget](Self::budget); a refused call is
    /// [`Error::Gated`] and is not accounted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use llmax::{Deployment, Message, Model, MultiAIClient, Provider};
    ///
    /// let active = Arc::new(AtomicBool::new(true));
    /// let flag = active.clone();
    /// let client = MultiAIClient::builder()
    ///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
    ///     .gate(move || {
    ///         let active = flag.load(Ordering::Relaxed);
    ///         async move { active }
    ///     })
    ///     .build()?;
    /// let messages = [Message::user("Hi")];
    /// assert!(client.ainvoke(&messages, Model::Gpt4o).await.is_ok());
    /// active.store(false, Ordering::Relaxed);
    /// let refused = client.ainvoke(&messages, Model::Gpt4o).await;
    /// assert!(matches!(refused, Err(llmax::Error::Gated)));
    /// # Ok(()) }
    /// ```
    pub fn gate<F, Fut>(mut self, gate: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.gate = Some(Arc::new(move || Box::pin(gate())));
        self
    }

    /// Puts the prompt and the answer of chat calls on their spans
    /// (`gen_ai.input.messages`, `gen_ai.output.messages`, as JSON; a
    /// stream's answer is not). Off by default: prompts and answers often
    /// hold what must not reach a tracing backend.
    ///
    /// ```
    /// use llmax::{Deployment, Model, MultiAIClient, Provider};
    ///
    /// // For a debugging session, not for production traffic.
    /// let client = MultiAIClient::builder()
    ///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
    ///     .trace_content(true)
    ///     .build()?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn trace_content(mut self, on: bool) -> Self {
        self.trace_content = on;
        self
    }

    /// How a call picks among the healthy deployments of its model
    /// (default: [`Strategy::InOrder`], a primary and its backups).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// How long a deployment rests after a 429, a 5xx or a failed
    /// connection when the provider does not say (`Retry-After`); default
    /// [`DEFAULT_COOLDOWN`]. Meanwhile calls go to the model's other
    /// deployments, or to its fallback models.
    ///
    /// ```
    /// use std::time::Duration;
    /// use llmax::{Deployment, Model, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::builder()
    ///     .deployment(Deployment::new(Model::Gpt4o, Provider::Mock))
    ///     .cooldown(Duration::from_secs(30))
    ///     .build()?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Models tried, in order, when the model of a call has no healthy
    /// deployment or its attempts fail with an error a retry may cure
    /// (429, 5xx, no connection, a refused key): the Python llmax's
    /// `fallback_models`. Each must have a deployment; it may speak another
    /// protocol (the request is written anew for it). Only models of the
    /// call's kind are tried (a chat model for a chat call). A call may set
    /// its own list with [`Call::fallback`](crate::Call::fallback).
    ///
    /// ```
    /// use llmax::{Deployment, Model, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::builder()
    ///     .deployment(Deployment::new(Model::Gpt4o, Provider::OpenAi).api_key("sk-..."))
    ///     .deployment(Deployment::new(llmax::model!("claude-4.5-sonnet"), Provider::Anthropic).api_key("sk-ant-..."))
    ///     .fallback_models([llmax::model!("claude-4.5-sonnet")])
    ///     .build()?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn fallback_models<M: ModelId>(mut self, models: impl IntoIterator<Item = M>) -> Self {
        self.fallbacks
            .extend(models.into_iter().map(|model| model.info()));
        self
    }

    /// Tags every call of the client with this scope (user, tenant,
    /// project); a call's own tags win over it.
    ///
    /// ```
    /// use llmax::{Deployment, MultiAIClient, Provider, usage::Scope};
    ///
    /// let client = MultiAIClient::builder()
    ///     .deployment(Deployment::new(llmax::Model::Gpt4oMini, Provider::Mock))
    ///     .scope(Scope::new().tenant("acme"))
    ///     .build()?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Default time for a request: waiting for the response, and reading
    /// a whole (non-streamed) body. A stream's chunks are bounded by
    /// [`stream_idle_timeout`](Self::stream_idle_timeout) instead.
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
    /// serve, on two deployments of one model with the same label, or on a
    /// fallback model without a deployment; its [`ConfigErrorKind`] says
    /// which.
    pub fn build(self) -> Result<MultiAIClient> {
        // The deployments of each model, in the order they were added.
        let mut grouped: HashMap<&'static str, Vec<Arc<Target>>> =
            HashMap::with_capacity(self.deployments.len());
        for deployment in &self.deployments {
            let name = deployment.model().name;
            let members = grouped.entry(name).or_default();
            let mut target = prepare(deployment)?;
            if let Some(same) = members.iter().find(|m| m.label == target.label) {
                if deployment.label.is_some() {
                    return Err(Error::config(
                        ConfigErrorKind::DuplicateDeployment,
                        format!(
                            "two deployments of model `{name}` labelled `{}`; give each its own label",
                            same.label
                        ),
                    ));
                }
                // Same provider and host: told apart by their rank.
                target.label = format!("{}#{}", target.label, members.len() + 1).into();
            }
            if members.len() == Pool::MAX_MEMBERS {
                return Err(Error::config(
                    ConfigErrorKind::Routing,
                    format!(
                        "more than {} deployments of model `{name}`",
                        Pool::MAX_MEMBERS
                    ),
                ));
            }
            members.push(Arc::new(target));
        }
        for fallback in &self.fallbacks {
            if !grouped.contains_key(fallback.name) {
                return Err(Error::config(
                    ConfigErrorKind::Routing,
                    format!(
                        "fallback model `{}` has no deployment; add one",
                        fallback.name
                    ),
                ));
            }
        }
        let deployments = grouped
            .into_iter()
            .map(|(name, members)| (name, Pool::new(members, self.strategy)))
            .collect();
        let http = match self.http {
            Some(client) => Http {
                client,
                connect_timeout: self.connect_timeout,
            },
            None => Http::new(self.connect_timeout)?,
        };
        let hooks = self
            .hooks
            .unwrap_or_else(|| Arc::new(self.closures) as Arc<dyn UsageHooks>);
        Ok(MultiAIClient {
            inner: Arc::new(super::Inner {
                deployments,
                fallbacks: self.fallbacks,
                engine: Engine {
                    hooks,
                    budget: self.budget,
                    gate: self.gate,
                    trace_content: self.trace_content,
                    cooldown: self.cooldown,
                    scope: self.scope,
                    timeout: self.timeout,
                    stream_idle_timeout: self.stream_idle_timeout,
                    http,
                    blocking: OnceLock::new(),
                },
            }),
        })
    }
}

/// A deployment checked, with its URLs and headers computed once.
fn prepare(deployment: &Deployment) -> Result<Target> {
    let resolved = deployment.resolve()?;
    let adapter = Adapter::for_protocol(resolved.provider.protocol);
    let mock = resolved.provider.protocol == Protocol::Mock;
    let base = if mock {
        format!("{}://llmax", crate::transport::MOCK_SCHEME)
    } else {
        resolved.base_url.clone()
    };
    let url = |path: &str| {
        let url = format!("{base}{path}");
        let mut url = reqwest::Url::parse(&url).map_err(|error| {
            Error::config(
                ConfigErrorKind::InvalidUrl,
                format!(
                    "deployment of `{}` on `{}`: invalid URL `{url}`: {error}",
                    resolved.model.name, resolved.provider.name
                ),
            )
        })?;
        if !resolved.query.is_empty() {
            url.query_pairs_mut().extend_pairs(resolved.query.iter());
        }
        Ok::<_, Error>(url)
    };
    let mut urls: [Option<reqwest::Url>; Operation::ALL.len()] = Default::default();
    for operation in Operation::ALL {
        if let Some(path) = adapter.path(operation, &resolved.wire_model) {
            urls[operation.index()] = Some(url(&path)?);
        }
    }
    let chat_stream_url = match adapter.stream_path(&resolved.wire_model) {
        Some(path) => Some(url(&path)?),
        None => urls[Operation::Chat.index()].clone(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in resolved.provider.headers {
        // `manifest!` refuses names and values that are not valid HTTP, so
        // a failure here means a catalog built by other means: skip it.
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
            Auth::XGoogApiKey => (
                HeaderName::from_static("x-goog-api-key"),
                key.expose_secret().to_owned(),
            ),
            Auth::None => (AUTHORIZATION, String::new()),
        };
        if !value.is_empty() {
            // The message names no part of the key.
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                Error::config(
                    ConfigErrorKind::InvalidApiKey,
                    format!(
                        "deployment of `{}` on `{}`: the API key has characters not allowed in a header",
                        resolved.model.name, resolved.provider.name
                    ),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    let (server_address, server_port): (Box<str>, Option<u16>) = match urls.iter().flatten().next()
    {
        Some(url) => (
            url.host_str().unwrap_or_default().into(),
            url.port_or_known_default(),
        ),
        None => (Box::from(""), None),
    };
    let label: Arc<str> = match &deployment.label {
        Some(label) => label.as_str().into(),
        None if mock || server_address.is_empty() => resolved.provider.name.into(),
        None => format!("{}@{server_address}", resolved.provider.name).into(),
    };
    Ok(Target {
        resolved,
        adapter,
        mock,
        urls,
        chat_stream_url,
        headers,
        label,
        weight: deployment.weight.max(1),
        health: Health::default(),
        server_address,
        server_port,
    })
}
