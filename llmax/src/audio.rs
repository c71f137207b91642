//! Speech to text: the audio to upload, the options of a transcription,
//! and what it returns.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmax::Result<()> {
//! use llmax::{Audio, Deployment, MultiAIClient, Provider, TranscriptionFormat};
//!
//! let client = MultiAIClient::new([Deployment::new(llmax::model!("whisper-1"), Provider::Mock)])?;
//! # let mp3 = vec![0u8; 32_000];
//! let transcription = client
//!     .aspeech_to_text(Audio::from_bytes(mp3, "hello.mp3"), llmax::model!("whisper-1"))
//!     .language("fr")
//!     .response_format(TranscriptionFormat::VerboseJson)
//!     .await?;
//! println!("{} ({})", transcription.text, transcription.cost);
//! for segment in &transcription.segments {
//!     println!("{:?}..{:?}: {}", segment.start, segment.end, segment.text);
//! }
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;

use crate::catalog::Usd;
use crate::error::{Error, Result};
use crate::response::Usage;
use crate::transport::multipart::Source;

/// Audio to transcribe: bytes in memory, or a file streamed from disk.
///
/// The upload's content type follows the file name's extension (`.wav`,
/// `.mp3`, `.m4a`, `.ogg`, `.webm`, `.flac`...), unless
/// [`content_type`](Audio::content_type) sets it. Cloning is cheap: bytes
/// are shared, a file is named, not read.
///
/// ```
/// use llmax::Audio;
///
/// # let mp3 = vec![0u8; 1024];
/// let from_memory = Audio::from_bytes(mp3, "note.mp3");
/// // Read by each attempt as it is sent, never whole into memory.
/// let from_disk = Audio::from_path("/recordings/meeting.m4a");
/// let raw = Audio::from_bytes(vec![0u8; 16], "capture.pcm").content_type("audio/L16");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Audio {
    pub(crate) source: Source,
    pub(crate) filename: String,
    pub(crate) content_type: Option<String>,
}

impl std::fmt::Debug for Audio {
    /// Names the audio and its size or path, never its bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Audio");
        match &self.source {
            Source::Bytes(bytes) => debug.field("bytes", &bytes.len()),
            Source::Path(path) => debug.field("path", path),
        };
        debug
            .field("filename", &self.filename)
            .field("content_type", &self.content_type_or_guess())
            .finish()
    }
}

impl Audio {
    /// Audio in memory, uploaded under `filename` (whose extension tells
    /// the provider, and llmax, its format).
    pub fn from_bytes(bytes: impl Into<Bytes>, filename: impl Into<String>) -> Audio {
        Audio {
            source: Source::Bytes(bytes.into()),
            filename: filename.into(),
            content_type: None,
        }
    }

    /// A file, uploaded under its own name. Nothing is read here: the call
    /// measures it and reads its header (a WAV's gives its duration), then
    /// each attempt opens it and streams it. A file that cannot be read is
    /// [`Error::File`], before anything is sent.
    pub fn from_path(path: impl Into<PathBuf>) -> Audio {
        let path = path.into();
        let filename = path.file_name().map_or_else(
            || "audio".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        Audio {
            source: Source::Path(path),
            filename,
            content_type: None,
        }
    }

    /// Uploads under this file name instead.
    #[must_use]
    pub fn filename(mut self, filename: impl Into<String>) -> Audio {
        self.filename = filename.into();
        self
    }

    /// Sends this content type instead of the one the extension gives.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Audio {
        self.content_type = Some(content_type.into());
        self
    }

    /// The content type sent: the one set, else the extension's.
    pub(crate) fn content_type_or_guess(&self) -> &str {
        self.content_type
            .as_deref()
            .unwrap_or_else(|| content_type_of(&self.filename))
    }

    /// Measures the audio: its size, and its duration where the header says
    /// it (WAV). A file is opened and its first bytes read, no more.
    pub(crate) async fn probe(&self) -> Result<Probe> {
        match &self.source {
            Source::Bytes(bytes) => Ok(Probe {
                size: bytes.len() as u64,
                duration: wav_duration(bytes, bytes.len() as u64),
            }),
            Source::Path(path) => probe_file(path)
                .await
                .map_err(|source| Error::file(path, source)),
        }
    }
}

/// What llmax knows of an audio before sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    pub size: u64,
    pub duration: Option<Duration>,
}

/// How much of a file is read to find a WAV's `data` chunk: the header
/// and any metadata chunks before it (`LIST`, `bext`...) are well within.
const HEADER_BYTES: usize = 64 * 1024;

async fn probe_file(path: &Path) -> std::io::Result<Probe> {
    let file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    let mut head = Vec::with_capacity(HEADER_BYTES.min(usize::try_from(size).unwrap_or(0)));
    file.take(HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .await?;
    Ok(Probe {
        size,
        duration: wav_duration(&head, size),
    })
}

/// The duration of a RIFF/WAVE file from its first bytes `head` and its
/// whole size: the `data` chunk's size over the `fmt ` chunk's byte rate.
/// `None` if it is not a WAV, or its header is not within `head`.
pub(crate) fn wav_duration(head: &[u8], size: u64) -> Option<Duration> {
    if head.get(0..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        let bytes = head.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    let mut at = 12usize;
    let mut byte_rate = None;
    loop {
        let id = head.get(at..at.checked_add(4)?)?;
        let length = u32_at(at + 4)?;
        let body = at + 8;
        match id {
            // WAVEFORMATEX: format, channels, sample rate, then the average
            // bytes per second, which holds for compressed formats too.
            b"fmt " => byte_rate = Some(u32_at(body + 8)?),
            b"data" => {
                let rate = u64::from(byte_rate.filter(|rate| *rate > 0)?);
                let available = size.saturating_sub(body as u64);
                // Writers that stream a WAV leave the size 0 or all ones:
                // the data then runs to the end of the file.
                let data = match length {
                    0 | u32::MAX => available,
                    length => u64::from(length).min(available),
                };
                let nanos = u128::from(data) * 1_000_000_000 / u128::from(rate);
                return Some(Duration::from_nanos(u64::try_from(nanos).ok()?));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        let padded = usize::try_from(length)
            .ok()?
            .checked_add(length as usize & 1)?;
        at = body.checked_add(padded)?;
    }
}

/// The content type of an audio file, from its name's extension
/// (case-insensitive); `application/octet-stream` when unknown.
pub(crate) fn content_type_of(filename: &str) -> &'static str {
    let extension = Path::new(filename)
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "wav" | "wave" => "audio/wav",
        "mp3" | "mpga" | "mpeg" => "audio/mpeg",
        "mp4" | "m4a" => "audio/mp4",
        // Ogg Opus files are `audio/ogg` (RFC 7845).
        "ogg" | "oga" | "opus" => "audio/ogg",
        "webm" => "audio/webm",
        "flac" => "audio/flac",
        "aac" => "audio/aac",
        _ => "application/octet-stream",
    }
}

/// The shape of a transcription reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TranscriptionFormat {
    /// Plain text: the transcript only.
    Text,
    /// JSON with the text (and, from some providers, the usage).
    Json,
    /// JSON with the text, language, duration and timed segments
    /// (Whisper models; `gpt-4o-transcribe` refuses it).
    VerboseJson,
}

impl TranscriptionFormat {
    /// The name on the wire (`text`, `json`, `verbose_json`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TranscriptionFormat::Text => "text",
            TranscriptionFormat::Json => "json",
            TranscriptionFormat::VerboseJson => "verbose_json",
        }
    }
}

/// Options of one transcription; every setter is also on the builder that
/// [`aspeech_to_text`](crate::MultiAIClient::aspeech_to_text) returns.
///
/// ```
/// use std::time::Duration;
/// use llmax::{TranscriptionFormat, TranscriptionOptions};
///
/// let options = TranscriptionOptions::new()
///     .language("fr")
///     .prompt("Réunion du comité de direction.")
///     .temperature(0.0)
///     .response_format(TranscriptionFormat::VerboseJson)
///     .tries(3)
///     .timeout(Duration::from_secs(120))
///     .extra("timestamp_granularities", serde_json::json!(["segment"]));
/// assert_eq!(options.language.as_deref(), Some("fr"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TranscriptionOptions {
    /// The spoken language, as an ISO-639-1 code (`en`, `fr`): faster and
    /// more accurate than letting the model guess.
    pub language: Option<String>,
    /// Text that guides the style or continues a previous segment (Mistral
    /// has no such field: its manifest entry drops it).
    pub prompt: Option<String>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f64>,
    /// The reply's shape. Unset, llmax asks for what prices the call: verbose
    /// JSON from a model priced by the minute only (Whisper: its duration is
    /// in the reply, where Azure gives no usage), JSON from the others
    /// (`gpt-4o-transcribe` takes nothing else, and counts its tokens in it).
    pub response_format: Option<TranscriptionFormat>,
    /// How many attempts in all (1: no retry); retries send the whole audio
    /// again.
    pub tries: u32,
    /// The first delay between attempts (doubling, with jitter, unless the
    /// provider says how long to wait).
    pub delay: Duration,
    /// Time for the request: the upload, the wait and reading the reply;
    /// `None`: the client's default.
    pub timeout: Option<Duration>,
    /// A name for this call in usage records (default: the method name).
    pub operation: Option<String>,
    /// Who the call is for; each tag set here wins over the client's.
    pub scope: crate::usage::Scope,
    /// Any other form field, passed through as text: strings as they are,
    /// numbers and booleans as JSON, each item of an array as a `NAME[]`
    /// field (as OpenAI's SDKs send them), objects as JSON text; `null`
    /// sends nothing.
    pub extra: Map<String, Value>,
}

impl Default for TranscriptionOptions {
    fn default() -> TranscriptionOptions {
        TranscriptionOptions {
            language: None,
            prompt: None,
            temperature: None,
            response_format: None,
            tries: 1,
            delay: Duration::ZERO,
            timeout: None,
            operation: None,
            scope: crate::usage::Scope::new(),
            extra: Map::new(),
        }
    }
}

impl TranscriptionOptions {
    /// The defaults: one try, the client's timeout, the reply format that
    /// prices the call.
    pub fn new() -> TranscriptionOptions {
        TranscriptionOptions::default()
    }

    /// The spoken language (ISO-639-1).
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// A prompt that guides the transcription.
    #[must_use]
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// The reply's shape.
    #[must_use]
    pub fn response_format(mut self, format: TranscriptionFormat) -> Self {
        self.response_format = Some(format);
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

    /// Any other form field, in the provider's own terms.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    crate::options::per_call_options!();
}

/// A transcription: the text, what the provider said of the audio, and
/// what the call used and cost.
///
/// `#[non_exhaustive]`: fields will be added; only llmax builds one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Transcription {
    /// The transcript.
    pub text: String,
    /// The language, as the provider names it (`english` from OpenAI's
    /// verbose JSON, `en` from Mistral), when it says.
    pub language: Option<String>,
    /// The audio's length: the reply's, else the WAV header's, else the
    /// seconds the provider billed; `None` when nothing says.
    pub duration: Option<Duration>,
    /// Timed segments (verbose JSON, Mistral); empty otherwise.
    pub segments: Vec<Segment>,
    /// What the call used: tokens (`gpt-4o-transcribe`, Mistral), and the
    /// audio billed by the minute.
    pub usage: Usage,
    /// What the call cost, from the catalog's prices: per minute of audio
    /// (the billed seconds the reply gives, else its duration, else the WAV
    /// header's) and per token. A reply that gives neither tokens nor a
    /// duration for an audio that is not a WAV costs zero, and a warning
    /// is logged: ask for JSON or verbose JSON (the default) to price it.
    pub cost: Usd,
    /// From sending the request to reading the whole reply (last attempt).
    pub latency: Duration,
    /// The catalog model that was called.
    pub catalog_model: &'static str,
    /// The provider that answered.
    pub provider: &'static str,
}

/// A timed piece of a transcript.
///
/// `#[non_exhaustive]`: fields will be added (speaker, confidence...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Segment {
    /// Where it starts in the audio (to the millisecond).
    pub start: Duration,
    /// Where it ends.
    pub end: Duration,
    /// What was said.
    pub text: String,
}

impl Segment {
    pub(crate) fn new(start: Duration, end: Duration, text: String) -> Segment {
        Segment { start, end, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV of silence: 16 kHz, 16-bit mono PCM, `duration` long.
    fn silence_wav(duration: Duration) -> Vec<u8> {
        const RATE: u32 = 16_000;
        let samples = duration.as_nanos() * u128::from(RATE) / 1_000_000_000;
        // A WAV holds at most 4 GiB of data.
        let data = u32::try_from(samples * 2).unwrap_or(u32::MAX - 36) & !1;
        let mut wav = Vec::with_capacity(44 + data as usize);
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
        wav.extend_from_slice(&1u16.to_le_bytes()); // mono
        wav.extend_from_slice(&RATE.to_le_bytes());
        wav.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
        wav.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
        wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&data.to_le_bytes());
        wav.resize(44 + data as usize, 0);
        wav
    }

    #[test]
    fn wav_durations_come_from_the_header() {
        let wav = silence_wav(Duration::from_millis(1500));
        assert_eq!(wav.len(), 44 + 48_000);
        assert_eq!(
            wav_duration(&wav, wav.len() as u64),
            Some(Duration::from_millis(1500))
        );
        // The header alone is enough, given the file's size.
        assert_eq!(
            wav_duration(&wav[..44], wav.len() as u64),
            Some(Duration::from_millis(1500))
        );
        // A truncated file counts what it has.
        assert_eq!(
            wav_duration(&wav[..44], 44 + 16_000),
            Some(Duration::from_millis(500))
        );
        // A streamed WAV (data size unset) runs to the end of the file.
        let mut streamed = wav.clone();
        streamed[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            wav_duration(&streamed, streamed.len() as u64),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn wav_chunks_before_data_are_skipped() {
        let wav = silence_wav(Duration::from_secs(2));
        // RIFF header and fmt chunk, then an odd-sized LIST chunk (padded),
        // then the data chunk.
        let mut with_list = wav[..36].to_vec();
        with_list.extend_from_slice(b"LIST");
        with_list.extend_from_slice(&5u32.to_le_bytes());
        with_list.extend_from_slice(b"INFO!\0");
        with_list.extend_from_slice(&wav[36..]);
        assert_eq!(
            wav_duration(&with_list, with_list.len() as u64),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn non_wavs_have_no_duration() {
        for head in [
            &b""[..],
            b"RIFF",
            b"ID3\x04\0\0\0\0\0\0 mp3 frames",
            b"RIFF\0\0\0\0AVI LIST",
            // A WAV whose data comes before its format.
            b"RIFF\x24\0\0\0WAVEdata\x04\0\0\0\0\0\0\0",
        ] {
            assert_eq!(wav_duration(head, 1_000), None, "{head:?}");
        }
        // A header cut before its data chunk.
        let wav = silence_wav(Duration::from_secs(1));
        assert_eq!(wav_duration(&wav[..30], wav.len() as u64), None);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_of("hello.wav"), "audio/wav");
        assert_eq!(content_type_of("Talk.MP3"), "audio/mpeg");
        assert_eq!(content_type_of("a.m4a"), "audio/mp4");
        assert_eq!(content_type_of("a.webm"), "audio/webm");
        assert_eq!(content_type_of("noextension"), "application/octet-stream");
        let audio = Audio::from_path("/tmp/x/voice.ogg");
        assert_eq!(audio.filename, "voice.ogg");
        assert_eq!(audio.content_type_or_guess(), "audio/ogg");
        let audio = audio.content_type("audio/opus").filename("v.opus");
        assert_eq!(audio.content_type_or_guess(), "audio/opus");
        assert_eq!(audio.filename, "v.opus");
    }
}
