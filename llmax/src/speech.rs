//! Text to speech: the options of a call, its audio format, and its result.
//! The calls are [`MultiAIClient::atext_to_speech`](crate::MultiAIClient::atext_to_speech)
//! and its builder; the byte stream is [`SpeechStream`](crate::SpeechStream).

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Usd;
use crate::response::Usage;

/// The voice llmax asks for when the caller names none: OpenAI's first
/// voice (the API requires one).
pub const DEFAULT_VOICE: &str = "alloy";

/// The encoding of the audio a text-to-speech call returns (OpenAI's
/// `response_format`).
///
/// ```
/// use llmax::SpeechFormat;
///
/// assert_eq!(SpeechFormat::default(), SpeechFormat::Mp3);
/// assert_eq!(SpeechFormat::Opus.as_str(), "opus");
/// assert_eq!(SpeechFormat::Wav.extension(), "wav");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SpeechFormat {
    /// MP3 (the API's default).
    #[default]
    Mp3,
    /// Opus in an Ogg container: low latency, for streaming.
    Opus,
    /// AAC (ADTS).
    Aac,
    /// FLAC, lossless.
    Flac,
    /// WAV: 16-bit PCM with a RIFF header.
    Wav,
    /// Raw 16-bit little-endian PCM samples, 24 kHz mono, no header.
    Pcm,
}

impl SpeechFormat {
    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpeechFormat::Mp3 => "mp3",
            SpeechFormat::Opus => "opus",
            SpeechFormat::Aac => "aac",
            SpeechFormat::Flac => "flac",
            SpeechFormat::Wav => "wav",
            SpeechFormat::Pcm => "pcm",
        }
    }

    /// The usual file extension (`pcm` for raw samples).
    pub const fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The MIME type of the audio.
    pub const fn content_type(self) -> &'static str {
        match self {
            SpeechFormat::Mp3 => "audio/mpeg",
            SpeechFormat::Opus => "audio/opus",
            SpeechFormat::Aac => "audio/aac",
            SpeechFormat::Flac => "audio/flac",
            SpeechFormat::Wav => "audio/wav",
            SpeechFormat::Pcm => "audio/pcm",
        }
    }
}

/// The options of a text-to-speech call. Set them on the builder of
/// [`atext_to_speech`](crate::MultiAIClient::atext_to_speech), or build
/// them for the blocking [`text_to_speech_with`](crate::MultiAIClient::text_to_speech_with).
///
/// ```
/// use llmax::{SpeechFormat, SpeechOptions};
///
/// let options = SpeechOptions::new()
///     .voice("nova")
///     .format(SpeechFormat::Wav)
///     .speed(1.25)
///     .instructions("Cheerful, not too fast.")
///     .tries(3);
/// assert_eq!(options.voice.as_deref(), Some("nova"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpeechOptions {
    /// The voice (`alloy`, `nova`, `shimmer`...); `None`:
    /// [`DEFAULT_VOICE`].
    pub voice: Option<String>,
    /// The audio encoding; `None`: MP3.
    pub format: Option<SpeechFormat>,
    /// Speaking speed, 0.25 to 4.0 (1.0 is normal); checked before sending.
    pub speed: Option<f64>,
    /// How to speak (tone, accent, pace): `gpt-4o-mini-tts` follows them;
    /// `tts-1` and `tts-1-hd` do not.
    pub instructions: Option<String>,
    /// How many attempts in all (1: no retry).
    pub tries: u32,
    /// The first delay between attempts (doubling, with jitter, unless the
    /// provider says how long to wait).
    pub delay: Duration,
    /// Time for the request: the wait and, for a whole-body call, reading
    /// the audio; `None`: the client's default.
    pub timeout: Option<Duration>,
    /// A name for this call in usage records (default: the method name).
    pub operation: Option<String>,
    /// Who the call is for; each tag set here wins over the client's.
    pub scope: crate::usage::Scope,
    /// Any other body field, in the provider's own terms (set last: it
    /// overrides a field llmax sets).
    pub extra: Map<String, Value>,
}

impl Default for SpeechOptions {
    fn default() -> SpeechOptions {
        SpeechOptions {
            voice: None,
            format: None,
            speed: None,
            instructions: None,
            tries: 1,
            delay: Duration::ZERO,
            timeout: None,
            operation: None,
            scope: crate::usage::Scope::new(),
            extra: Map::new(),
        }
    }
}

impl SpeechOptions {
    /// No option set: voice `alloy`, MP3, normal speed, one attempt.
    pub fn new() -> SpeechOptions {
        SpeechOptions::default()
    }

    /// The voice.
    #[must_use]
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// The audio encoding.
    #[must_use]
    pub fn format(mut self, format: SpeechFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// Speaking speed, 0.25 to 4.0.
    #[must_use]
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = Some(speed);
        self
    }

    /// How to speak (`gpt-4o-mini-tts`).
    #[must_use]
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// How many attempts in all.
    #[must_use]
    pub fn tries(mut self, tries: u32) -> Self {
        self.tries = tries;
        self
    }

    /// The first delay between attempts.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Time for the request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Names the call in usage records.
    #[must_use]
    pub fn operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Any other body field, in the provider's own terms.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    crate::options::per_call_options!();
}

/// Spoken text: the audio, and what the call used and cost.
///
/// `usage.characters` is the input text's length in characters (Unicode
/// scalar values): the reply of `/audio/speech` is bare audio with no
/// usage, so llmax counts what the provider bills by. `cost` is those
/// characters at the model's per-character price (for `gpt-4o-mini-tts`,
/// billed by the token, an estimate: see its catalog entry).
///
/// `#[non_exhaustive]`: fields will be added; only llmax builds one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use llmax::{Deployment, MultiAIClient, Provider};
///
/// let client = MultiAIClient::new([Deployment::new(llmax::model!("tts-1"), Provider::Mock)])?;
/// let s = client.atext_to_speech("Bonjour", llmax::model!("tts-1")).await?;
/// assert_eq!(s.usage.characters, 7);
/// // $15 per million characters.
/// assert_eq!(s.cost.to_string(), "$0.000105");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Speech {
    /// The audio, encoded as [`format`](Self::format) says.
    #[serde(skip)]
    pub audio: Bytes,
    /// The encoding asked for.
    pub format: SpeechFormat,
    /// The characters billed.
    pub usage: Usage,
    /// What the call cost.
    pub cost: Usd,
    /// From sending the request to reading the whole audio.
    pub latency: Duration,
    /// The catalog model called.
    pub catalog_model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
}
