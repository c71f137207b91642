//! `MultiAIClient`: one client over many deployments.
//!
//! - [`builder`]: [`ClientBuilder`], and deployments prepared for the engine;
//! - [`config`]: deployments from a TOML file;
//! - [`chat`]: chat calls ([`Call`] and its kinds);
//! - [`blocking`]: the blocking twins of the async calls;
//! - [`embed`]: embeddings calls ([`Embed`]) and their blocking twins;
//! - [`transcribe`]: speech to text ([`SpeechToText`]) and its blocking twins.
//!
//! Every call goes through the [engine](crate::engine).

/// Call-builder methods that set the call's options: `name(args)` on the
/// builder is `self.options.name(args)`. Defined before the submodules so
/// that each endpoint's builder can use it.
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

mod blocking;
mod builder;
mod chat;
mod config;
mod embed;
mod images;
mod speech;
mod transcribe;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use builder::ClientBuilder;
pub use chat::{Call, Invoke, InvokeToStr, Streaming, Typed, TypedStreaming};
pub use embed::Embed;
pub use images::TextToImage;
pub use speech::TextToSpeech;
pub use transcribe::SpeechToText;

use crate::catalog::{ModelId, ModelInfo};
use crate::deployment::Deployment;
use crate::engine::{Engine, Target};
use crate::error::{Error, Result};
use crate::options::CallOptions;
use crate::protocol::Operation;
use crate::routing::{Pool, Route};

/// Default time to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a request: waiting for the response, and reading a
/// whole (non-streamed) body (LLM answers can be slow).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Default longest wait between two stream chunks.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

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
    /// The deployments of each model.
    deployments: HashMap<&'static str, Pool>,
    /// Tried, in order, after the model of a call (unless the call sets
    /// its own).
    fallbacks: Vec<&'static ModelInfo>,
    engine: Engine,
}

impl std::fmt::Debug for MultiAIClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut models: Vec<&str> = self.inner.deployments.keys().copied().collect();
        models.sort_unstable();
        f.debug_struct("MultiAIClient")
            .field("models", &models)
            .field("budget", &self.inner.engine.budget)
            .finish_non_exhaustive()
    }
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
        ClientBuilder::default()
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

    /// The provider of a model's first deployment, if any.
    pub fn deployment(&self, model: impl ModelId) -> Option<&'static str> {
        self.inner
            .deployments
            .get(model.info().name)
            .map(|pool| pool.first().resolved.provider.name)
    }

    /// The labels of a model's deployments, in the order they were added,
    /// and whether each may be called now (not resting, key not refused).
    ///
    /// ```
    /// use llmax::{Deployment, Model, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::new([
    ///     Deployment::new(Model::Gpt4o, Provider::Mock).label("sweden"),
    ///     Deployment::new(Model::Gpt4o, Provider::Mock).label("france"),
    /// ])?;
    /// assert_eq!(
    ///     client.deployments(Model::Gpt4o),
    ///     vec![("sweden".to_owned(), true), ("france".to_owned(), true)]
    /// );
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn deployments(&self, model: impl ModelId) -> Vec<(String, bool)> {
        self.inner
            .deployments
            .get(model.info().name)
            .map(|pool| {
                pool.members
                    .iter()
                    .map(|target| (target.label.to_string(), target.health.is_available()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The deployments of a model, checked for an operation (resolve and
    /// check, before anything is built or sent), then those of the
    /// fallback models of the same kind: `fallbacks` if the call sets
    /// them, else the client's.
    fn route(
        &self,
        model: &'static ModelInfo,
        operation: Operation,
        fallbacks: Option<&[&'static ModelInfo]>,
    ) -> Result<Route<'_>> {
        let primary = self.pool(model)?;
        // One deployment that serves the operation is enough; the others
        // are checked when picked (the engine builds the body for the
        // first, and refuses the call if none serves it).
        let fallbacks = fallbacks.unwrap_or(&self.inner.fallbacks);
        let mut pools: Vec<&Pool> = Vec::new();
        for fallback in fallbacks {
            if fallback.name == model.name || fallback.kind != operation.kind() {
                continue;
            }
            let pool = self.pool(fallback)?;
            if !pools.iter().any(|known| std::ptr::eq(*known, pool)) {
                pools.push(pool);
            }
        }
        Ok(Route {
            primary,
            fallbacks: pools,
        })
    }

    /// The first deployment of a model that serves an operation (what a
    /// call's request is shaped for before it is sent).
    fn target(&self, model: &'static ModelInfo, operation: Operation) -> Result<&Arc<Target>> {
        let pool = self.pool(model)?;
        let mut refused = None;
        for target in &pool.members {
            match target.check(operation) {
                Ok(()) => return Ok(target),
                Err(error) => {
                    refused.get_or_insert(error);
                }
            }
        }
        // A pool is never empty: `refused` is set here.
        Err(refused.unwrap_or(Error::NoDeployment {
            model: model.name,
            deployed: String::new(),
        }))
    }

    /// Typed calls shape their request for the protocol of `target` (its
    /// dialect of structured output): their fallbacks keep to models whose
    /// first deployment speaks it.
    fn keep_same_protocol_fallbacks(&self, target: &Target, options: &mut CallOptions) {
        let fallbacks = options.fallback.as_deref().unwrap_or(&self.inner.fallbacks);
        let kept: Vec<&'static ModelInfo> = fallbacks
            .iter()
            .copied()
            .filter(|model| {
                self.inner
                    .deployments
                    .get(model.name)
                    .is_some_and(|pool| pool.first().adapter == target.adapter)
            })
            .collect();
        options.fallback = Some(kept);
    }

    fn pool(&self, model: &'static ModelInfo) -> Result<&Pool> {
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
}
