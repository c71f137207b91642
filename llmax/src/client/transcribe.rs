//! Speech to text: [`aspeech_to_text`](MultiAIClient::aspeech_to_text), its
//! [`SpeechToText`] builder, and the blocking twins. Each call builds a
//! multipart upload with the deployment's protocol and hands it to the
//! engine, like every other call.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::MultiAIClient;
use crate::audio::{Audio, Transcription, TranscriptionFormat, TranscriptionOptions};
use crate::catalog::{ModelId, ModelInfo, Price, Usd};
use crate::engine::{Exchange, Target};
use crate::error::Result;
use crate::protocol::Operation;
use crate::transport::RequestBody;
use crate::transport::http::Http;

impl MultiAIClient {
    /// Transcribes audio with a speech-to-text model (`whisper-1`,
    /// `gpt-4o-transcribe`, `scaleway/whisper-large-v3`,
    /// `voxtral-mini-transcribe`...). Set options on the returned builder,
    /// then `.await` it.
    ///
    /// The audio is uploaded as `multipart/form-data`; a file is streamed
    /// from disk by each attempt (a retry sends it whole again). The call
    /// goes through the same engine as chat: budget gate, retries,
    /// timeouts, one usage record. A model of another kind is
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) before
    /// anything is read or sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> llmax::Result<()> {
    /// use llmax::{Audio, Deployment, MultiAIClient, Provider};
    ///
    /// let client = MultiAIClient::new([Deployment::new(llmax::model!("whisper-1"), Provider::Mock)])?;
    /// # let mp3 = vec![0u8; 960_000];
    /// let t = client
    ///     .aspeech_to_text(Audio::from_bytes(mp3, "hello.mp3"), llmax::model!("whisper-1"))
    ///     .language("fr")
    ///     .await?;
    /// assert_eq!(t.text, "Mock transcription of hello.mp3 (960000 bytes).");
    /// // The mock takes an MP3 for 128 kbit/s: a minute, at $0.006 a minute.
    /// assert_eq!(t.duration, Some(std::time::Duration::from_secs(60)));
    /// assert_eq!(t.cost.to_string(), "$0.006");
    /// # Ok(()) }
    /// ```
    pub fn aspeech_to_text(&self, audio: Audio, model: impl ModelId) -> SpeechToText<'_> {
        SpeechToText {
            client: self,
            audio,
            model: model.info(),
            options: TranscriptionOptions::default(),
        }
    }

    /// Blocking [`aspeech_to_text`](Self::aspeech_to_text), with default
    /// options.
    ///
    /// Works without an async runtime; inside one it returns
    /// [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime).
    ///
    /// ```
    /// use llmax::{Audio, Deployment, MultiAIClient, Provider, TranscriptionOptions};
    ///
    /// let client = MultiAIClient::new([Deployment::new(llmax::model!("whisper-1"), Provider::Mock)])?;
    /// # let mp3 = vec![0u8; 16_000];
    /// let t = client.speech_to_text(Audio::from_bytes(mp3.clone(), "a.mp3"), llmax::model!("whisper-1"))?;
    /// let options = TranscriptionOptions::new().language("fr").tries(3);
    /// let t = client.speech_to_text_with(Audio::from_bytes(mp3, "a.mp3"), llmax::model!("whisper-1"), options)?;
    /// # Ok::<(), llmax::Error>(())
    /// ```
    pub fn speech_to_text(&self, audio: Audio, model: impl ModelId) -> Result<Transcription> {
        self.speech_to_text_with(audio, model, TranscriptionOptions::default())
    }

    /// Blocking [`aspeech_to_text`](Self::aspeech_to_text) with options.
    pub fn speech_to_text_with(
        &self,
        audio: Audio,
        model: impl ModelId,
        options: TranscriptionOptions,
    ) -> Result<Transcription> {
        let model = model.info();
        self.block_on("speech_to_text", |http| async move {
            self.transcribe(http, &audio, model, &options, "speech_to_text")
                .await
        })
    }

    /// One transcription: check the deployment, measure the audio, build
    /// the form, and let the engine send it.
    async fn transcribe(
        &self,
        http: &Http,
        audio: &Audio,
        model: &'static ModelInfo,
        options: &TranscriptionOptions,
        name: &'static str,
    ) -> Result<Transcription> {
        let call_options = options.call_options();
        let route = self.route(
            model,
            Operation::Transcription,
            call_options.fallback.as_deref(),
        )?;
        let first = self.target(model, Operation::Transcription)?;
        let format = options
            .response_format
            .unwrap_or_else(|| default_format(&first.resolved.price));
        let probe = audio.probe().await?;
        let body = |target: &Target| {
            let form = crate::protocol::openai::audio::form(
                &target.resolved,
                audio,
                probe,
                options,
                format,
            )?;
            Ok(RequestBody::Multipart(Arc::new(form)))
        };
        let exchange = Exchange {
            route,
            operation: Operation::Transcription,
            body: &body,
            options: &call_options,
            name,
            prompt: None,
        };
        let decoded = self
            .inner
            .engine
            .whole(http, exchange, |target, body| {
                let provider = target.resolved.provider.name;
                let (heard, mut usage) =
                    crate::protocol::openai::audio::parse(provider, body, format)?;
                if usage.is_empty() {
                    // Neither tokens nor seconds in the reply: the audio's
                    // own header says how long it is, if it is a WAV.
                    match probe.duration {
                        Some(duration) => usage = usage.with_audio_duration(duration),
                        None => tracing::warn!(
                            model = model.name,
                            provider,
                            format = format.as_str(),
                            "llmax: the transcription reply gives no usage nor duration, and the \
                             audio is not a WAV: the call is accounted at zero cost"
                        ),
                    }
                }
                Ok((heard, usage))
            })
            .await?;
        let heard = decoded.value;
        let billed =
            (!decoded.usage.audio_duration.is_zero()).then_some(decoded.usage.audio_duration);
        Ok(Transcription {
            text: heard.text,
            language: heard.language,
            duration: heard.duration.or(probe.duration).or(billed),
            segments: heard.segments,
            usage: decoded.usage,
            cost: decoded.cost,
            latency: decoded.latency,
            catalog_model: decoded.target.resolved.model.name,
            provider: decoded.target.resolved.provider.name,
        })
    }
}

/// The reply format asked for when the caller sets none: verbose JSON from
/// a model priced by the minute only, whose reply then says how long the
/// audio is (Azure's has no usage); JSON from the others, which count
/// tokens in it (`gpt-4o-transcribe` refuses verbose JSON).
fn default_format(price: &Price) -> TranscriptionFormat {
    let per_minute_only =
        price.audio_per_minute.is_some() && price.input == Usd::ZERO && price.output == Usd::ZERO;
    if per_minute_only {
        TranscriptionFormat::VerboseJson
    } else {
        TranscriptionFormat::Json
    }
}

/// A transcription being set up: set options, then `.await` it.
///
/// ```
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use std::time::Duration;
/// use llmax::{Audio, TranscriptionFormat};
///
/// let t = client
///     .aspeech_to_text(Audio::from_path("meeting.m4a"), llmax::model!("whisper-1"))
///     .language("en")
///     .prompt("Quarterly review; speakers: Ada, Grace.")
///     .temperature(0.0)
///     .response_format(TranscriptionFormat::VerboseJson)
///     .tries(3)
///     .timeout(Duration::from_secs(300))
///     .operation("minutes")
///     .extra("timestamp_granularities", serde_json::json!(["segment"]))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct SpeechToText<'a> {
    client: &'a MultiAIClient,
    audio: Audio,
    model: &'static ModelInfo,
    options: TranscriptionOptions,
}

impl std::fmt::Debug for SpeechToText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechToText")
            .field("model", &self.model.name)
            .field("audio", &self.audio)
            .field("options", &self.options)
            .finish()
    }
}

impl SpeechToText<'_> {
    /// Replaces all options at once.
    pub fn options(mut self, options: TranscriptionOptions) -> Self {
        self.options = options;
        self
    }

    /// The spoken language, as an ISO-639-1 code (`en`, `fr`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.options = self.options.language(language);
        self
    }

    /// Text that guides the style or continues a previous segment.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.options = self.options.prompt(prompt);
        self
    }

    /// Sampling temperature, 0 to 1.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.options = self.options.temperature(temperature);
        self
    }

    /// The reply's shape (see
    /// [`TranscriptionOptions::response_format`] for the default).
    pub fn response_format(mut self, format: TranscriptionFormat) -> Self {
        self.options = self.options.response_format(format);
        self
    }

    delegate! {
        /// How many attempts in all (retries on 408, 429, 5xx, connection
        /// errors), each sending the whole audio.
        tries(tries: u32);
        /// The first delay between attempts.
        delay(delay: Duration);
        /// Time for the request: the upload, the wait and reading the reply.
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

    /// Any other form field, in the provider's own terms (see
    /// [`TranscriptionOptions::extra`] for how values are written).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options = self.options.extra(key, value);
        self
    }
}

impl<'a> IntoFuture for SpeechToText<'a> {
    type Output = Result<Transcription>;
    type IntoFuture = BoxFuture<'a, Result<Transcription>>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.client;
        Box::pin(async move {
            let http = &client.inner.engine.http;
            client
                .transcribe(
                    http,
                    &self.audio,
                    self.model,
                    &self.options,
                    "aspeech_to_text",
                )
                .await
        })
    }
}
