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
use crate::protocol::Operation;

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
    deployments: HashMap<&'static str, Arc<Target>>,
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

    /// The provider of a model's deployment, if any.
    pub fn deployment(&self, model: impl ModelId) -> Option<&'static str> {
        self.inner
            .deployments
            .get(model.info().name)
            .map(|target| target.resolved.provider.name)
    }

    /// The deployment of a model, checked for an operation: resolve and
    /// check, before anything is built or sent.
    fn target(&self, model: &'static ModelInfo, operation: Operation) -> Result<&Arc<Target>> {
        let target = self.inner.deployments.get(model.name).ok_or_else(|| {
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
        })?;
        target.check(operation)?;
        Ok(target)
    }
}
