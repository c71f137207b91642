//! Blocking calls: the async calls run on one worker thread that the client
//! starts on its first blocking call, with its own HTTP client.

use std::future::Future;

use super::MultiAIClient;
use super::chat::into_text;
use crate::catalog::ModelId;
use crate::engine::Blocking;
use crate::error::{ConfigErrorKind, Error, Result};
use crate::message::Message;
use crate::options::CallOptions;
use crate::response::ChatResponse;
use crate::schema::LlmSchema;
use crate::transport::http::Http;

impl MultiAIClient {
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
        self.block_on("invoke", |http| async move {
            self.chat(http, messages, model, &options, "invoke").await
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
            self.chat(http, messages, model, &options, "invoke_to_str")
                .await
                .map(into_text)
        })
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
            self.chat_typed(http, messages, model, options, "invoke_typed")
        })
    }

    /// Runs `call` on the blocking runtime, started on first use.
    pub(super) fn block_on<'s, T, F, Fut>(&'s self, name: &'static str, call: F) -> Result<T>
    where
        F: FnOnce(&'s Http) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInRuntime(name));
        }
        let engine = &self.inner.engine;
        let blocking = engine
            .blocking
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("llmax-blocking")
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot start the blocking runtime: {error}"))?;
                let http = runtime
                    .block_on(async { Http::new(engine.http.connect_timeout) })
                    .map_err(|error| error.to_string())?;
                Ok(Blocking { runtime, http })
            })
            .as_ref()
            .map_err(|error| Error::config(ConfigErrorKind::Runtime, error.clone()))?;
        blocking.runtime.block_on(call(&blocking.http))
    }
}
