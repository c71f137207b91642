//! Text to speech: [`atext_to_speech`](MultiAIClient::atext_to_speech),
//! its [`TextToSpeech`] builder (whole audio, or a byte stream with
//! [`TextToSpeech::stream`]), and the blocking twins. Each call builds a
//! JSON body with the deployment's protocol and hands it to the engine,
//! like every other call.

use std::future::IntoFuture;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::MultiAIClient;
use crate::catalog::{ModelId, ModelInfo};
use crate::engine::{Exchange, Target};
use crate::error::{Error, Result};
use crate::options::CallOptions;
use crate::protocol::Operation;
use crate::response::Usage;
use crate::routing::Route;
use crate::speech::{Speech, SpeechFormat, SpeechOptions};
use crate::stream::SpeechStream;
use crate::transport::RequestBody;
use crate::transport::http::Http;

impl MultiAIClient {
    /// Speaks a text with a text-to-speech model (`tts-1`, `tts-1-hd`,
    /// `gpt-4o-mini-tts`). Set options on the returned builder, then
    /// `.await` it for the whole audio, or call
    /// [`.stream()`](TextToSpeech::stream) for the audio as it comes.
    ///
    /// The call goes through the same engine as chat: budget gate,
    /// retries, timeouts, one usage record. Its usage is the text's
    /// characters (the reply is bare audio, with no usage), priced per
    /// character. An empty text, a speed out of 0.25–4.0 and a model of
    /// another kind are [`Error::InvalidRequest`] before anything is sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use llmax::{Deployment, MultiAIClient, Provider, SpeechFormat};
    ///
    /// let client = MultiAIClient::new([Deployment::new(llmax::model!("tts-1"), Provider::Mock)])?;
    /// let s = client
    ///     .atext_to_speech("Bonjour", llmax::model!("tts-1"))
    ///     .voice("alloy")
    ///     .format(SpeechFormat::Wav)
    ///     .await?;
    /// assert_eq!(&s.audio[..4], b"RIFF");
    /// # let dir = std::env::temp_dir();
    /// std::fs::write(dir.join("bonjour.wav"), &s.audio)?;
    /// # Ok(()) }
    /// ```
    pub fn atext_to_speech(
        &self,
        text: impl Into<String>,
        model: impl ModelId,
    ) -> TextToSpeech<'_> {
        TextToSpeech {
            client: self,
            text: text.into(),
            model: model.info(),
            options: SpeechOptions::default(),
        }
    }

    /// The audio of a text as a byte stream, with default options: for
    /// long texts, to play or write the audio before it is all spoken.
    /// [`atext_to_speech`](Self::atext_to_speech)`(..).stream()` takes
    /// options.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Deployment, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::new([Deployment::new(llmax::model!("tts-1"), Provider::Mock)])?;
    /// let audio = client
    ///     .astream_speech("A long story.", llmax::model!("tts-1"))
    ///     .await?
    ///     .collect_bytes()
    ///     .await?;
    /// assert!(!audio.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn astream_speech(
        &self,
        text: impl Into<String>,
        model: impl ModelId,
    ) -> BoxFuture<'_, Result<SpeechStream>> {
        self.atext_to_speech(text, model).stream()
    }

    /// Blocking [`atext_to_speech`](Self::atext_to_speech), with default
    /// options.
    ///
    /// Works without an async runtime; inside one it returns
    /// [`Error::BlockingInRuntime`].
    ///
    /// ```
    /// use llmax::{Deployment, MultiAIClient, Provider, SpeechFormat, SpeechOptions};
    ///
    /// let client = MultiAIClient::new([Deployment::new(llmax::model!("tts-1"), Provider::Mock)])?;
    /// let s = client.text_to_speech("Hello", llmax::model!("tts-1"))?;
    /// let options = SpeechOptions::new().voice("nova").format(SpeechFormat::Pcm);
    /// let s = client.text_to_speech_with("Hello", llmax::model!("tts-1"), options)?;
    /// assert_eq!(s.format, SpeechFormat::Pcm);
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn text_to_speech(&self, text: impl Into<String>, model: impl ModelId) -> Result<Speech> {
        self.text_to_speech_with(text, model, SpeechOptions::default())
    }

    /// Blocking [`atext_to_speech`](Self::atext_to_speech) with options.
    pub fn text_to_speech_with(
        &self,
        text: impl Into<String>,
        model: impl ModelId,
        options: SpeechOptions,
    ) -> Result<Speech> {
        let text = text.into();
        let model = model.info();
        self.block_on("text_to_speech", |http| async move {
            self.speak(http, &text, model, &options, "text_to_speech")
                .await
        })
    }

    /// What both shapes of the call do first: check the deployments, count
    /// the characters.
    fn speech_request(
        &self,
        text: &str,
        model: &'static ModelInfo,
        options: &SpeechOptions,
    ) -> Result<(Route<'_>, Usage, CallOptions)> {
        let call_options = options.call_options();
        let route = self.route(model, Operation::Speech, call_options.fallback.as_deref())?;
        let characters = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
        let usage = Usage::default().with_characters(characters);
        Ok((route, usage, call_options))
    }

    /// One call for the whole audio.
    async fn speak(
        &self,
        http: &Http,
        text: &str,
        model: &'static ModelInfo,
        options: &SpeechOptions,
        name: &'static str,
    ) -> Result<Speech> {
        let format = options.format.unwrap_or_default();
        let (route, usage, call_options) = self.speech_request(text, model, options)?;
        let body = |target: &Target| speech_body(target, text, options, format);
        let exchange = Exchange {
            route,
            operation: Operation::Speech,
            body: &body,
            options: &call_options,
            name,
            prompt: None,
        };
        let decoded = self
            .inner
            .engine
            .whole(http, exchange, |target, body| {
                // The reply is the audio; an empty one is no answer.
                if body.is_empty() {
                    let provider = target.resolved.provider.name;
                    return Err(Error::decode(provider, "the reply has no audio", body));
                }
                Ok((Bytes::copy_from_slice(body), usage))
            })
            .await?;
        Ok(Speech {
            audio: decoded.value,
            format,
            usage: decoded.usage,
            cost: decoded.cost,
            latency: decoded.latency,
            catalog_model: decoded.target.resolved.model.name,
            provider: decoded.target.resolved.provider.name,
        })
    }

    /// One call for the audio as a stream.
    async fn speak_streaming(
        &self,
        text: &str,
        model: &'static ModelInfo,
        options: &SpeechOptions,
    ) -> Result<SpeechStream> {
        let format = options.format.unwrap_or_default();
        let (route, usage, call_options) = self.speech_request(text, model, options)?;
        let body = |target: &Target| speech_body(target, text, options, format);
        let exchange = Exchange {
            route,
            operation: Operation::Speech,
            body: &body,
            options: &call_options,
            name: "astream_speech",
            prompt: None,
        };
        let engine = &self.inner.engine;
        let bytes = engine.bytes(&engine.http, exchange, usage).await?;
        Ok(SpeechStream::new(bytes))
    }
}

/// A speech request body for `target`.
fn speech_body(
    target: &Target,
    text: &str,
    options: &SpeechOptions,
    format: SpeechFormat,
) -> Result<RequestBody> {
    let body = crate::protocol::openai::speech::body(&target.resolved, text, options, format)?;
    Ok(RequestBody::Json(Bytes::from(body)))
}

/// A text-to-speech call being set up: set options, then `.await` it for
/// a [`Speech`], or call [`stream`](Self::stream) for a [`SpeechStream`].
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use std::time::Duration;
/// use llmax::SpeechFormat;
///
/// let s = client
///     .atext_to_speech("Welcome aboard.", llmax::model!("gpt-4o-mini-tts"))
///     .voice("coral")
///     .format(SpeechFormat::Opus)
///     .speed(1.1)
///     .instructions("Warm and calm.")
///     .tries(3)
///     .timeout(Duration::from_secs(120))
///     .operation("greeting")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct TextToSpeech<'a> {
    client: &'a MultiAIClient,
    text: String,
    model: &'static ModelInfo,
    options: SpeechOptions,
}

impl std::fmt::Debug for TextToSpeech<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextToSpeech")
            .field("model", &self.model.name)
            .field("characters", &self.text.chars().count())
            .field("options", &self.options)
            .finish()
    }
}

impl<'a> TextToSpeech<'a> {
    /// Replaces all options at once.
    pub fn options(mut self, options: SpeechOptions) -> Self {
        self.options = options;
        self
    }

    /// The voice (default `alloy`).
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.options = self.options.voice(voice);
        self
    }

    /// The audio encoding (default MP3).
    pub fn format(mut self, format: SpeechFormat) -> Self {
        self.options = self.options.format(format);
        self
    }

    /// Speaking speed, 0.25 to 4.0 (else refused before sending).
    pub fn speed(mut self, speed: f64) -> Self {
        self.options = self.options.speed(speed);
        self
    }

    /// How to speak (`gpt-4o-mini-tts`).
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.options = self.options.instructions(instructions);
        self
    }

    delegate! {
        /// How many attempts in all (retries on 408, 429, 5xx, connection
        /// errors).
        tries(tries: u32);
        /// The first delay between attempts.
        delay(delay: Duration);
        /// Time for the request (and, awaited whole, reading the audio).
        timeout(timeout: Duration);
        /// Names the call in usage records.
        operation(operation: impl Into<String>);
        /// Tags the call with a user (over the client's scope).
        user(user: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a tenant (over the client's scope).
        tenant(tenant: impl Into<std::sync::Arc<str>>);
        /// Tags the call with a project (over the client's scope).
        project(project: impl Into<std::sync::Arc<str>>);
    }

    /// Any other body field, in the provider's own terms.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options = self.options.extra(key, value);
        self
    }

    /// Sends the call and gives the audio as it arrives, once a provider
    /// accepted the request (retries happen before the first byte only).
    pub fn stream(self) -> BoxFuture<'a, Result<SpeechStream>> {
        let client = self.client;
        Box::pin(async move {
            client
                .speak_streaming(&self.text, self.model, &self.options)
                .await
        })
    }
}

impl<'a> IntoFuture for TextToSpeech<'a> {
    type Output = Result<Speech>;
    type IntoFuture = BoxFuture<'a, Result<Speech>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .speak(
                    http,
                    &self.text,
                    self.model,
                    &self.options,
                    "atext_to_speech",
                )
                .await
        })
    }
}
