//! OpenAI's speech-to-text endpoint (`POST {base}/audio/transcriptions`),
//! also served by Azure OpenAI, Scaleway and Mistral: the multipart form of
//! a request, and the reply in each of its shapes.
//!
//! Replies: `text` is the transcript as plain text; `json` is
//! `{"text", "usage"?}`; `verbose_json` adds `language`, `duration` and
//! `segments`. `usage` is `{"type": "duration", "seconds"}` for models billed
//! by the minute, `{"type": "tokens", "input_tokens", "output_tokens"}` for
//! models billed by the token (`gpt-4o-transcribe`). Mistral answers its own
//! JSON whatever was asked: `text`, `language`, `segments`, and
//! `usage: {"prompt_audio_seconds", "prompt_tokens", "completion_tokens"}`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::audio::{Audio, Probe, Segment, TranscriptionFormat, TranscriptionOptions};
use crate::catalog::Quirks;
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::response::Usage;
use crate::transport::multipart::{FilePart, Form};

/// The multipart form of a transcription request: the text fields (after
/// the manifest's quirks), then the audio as the `file` part.
pub(crate) fn form(
    resolved: &Resolved,
    audio: &Audio,
    probe: Probe,
    options: &TranscriptionOptions,
    format: TranscriptionFormat,
) -> Result<Form> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    let content_type = audio.content_type_or_guess();
    // reqwest checks a content type only when each attempt builds the form:
    // check it now, before anything is sent.
    reqwest::multipart::Part::bytes(Vec::new())
        .mime_str(content_type)
        .map_err(|_| invalid(format!("`{content_type}` is not a valid content type")))?;
    let mut fields = Vec::with_capacity(5 + options.extra.len());
    fields.push(("model".to_owned(), resolved.wire_model.clone()));
    if let Some(language) = &options.language {
        fields.push(("language".to_owned(), language.clone()));
    }
    if let Some(prompt) = &options.prompt {
        fields.push(("prompt".to_owned(), prompt.clone()));
    }
    if let Some(temperature) = options.temperature {
        let value = crate::protocol::finite(model, "temperature", temperature)?;
        fields.push(("temperature".to_owned(), value.to_string()));
    }
    fields.push(("response_format".to_owned(), format.as_str().to_owned()));
    for (key, value) in &options.extra {
        // An extra field replaces one llmax set, as in JSON bodies.
        fields.retain(|(name, _)| name != key);
        match value {
            Value::Null => {}
            Value::String(text) => fields.push((key.clone(), text.clone())),
            Value::Array(items) => {
                for item in items {
                    fields.push((format!("{key}[]"), text_of(item)));
                }
            }
            other => fields.push((key.clone(), text_of(other))),
        }
    }
    apply(&mut fields, &resolved.provider.quirks);
    apply(&mut fields, &resolved.model_quirks);
    Ok(Form {
        model,
        fields,
        file: FilePart {
            name: "file",
            filename: audio.filename.clone(),
            content_type: content_type.to_owned(),
            source: audio.source.clone(),
            size: probe.size,
            duration: probe.duration,
        },
    })
}

/// A form value as text: a string as it is, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The manifest's rewrites, on form field names as on JSON body fields.
fn apply(fields: &mut Vec<(String, String)>, quirks: &Quirks) {
    for (from, to) in quirks.rename {
        if fields.iter().any(|(name, _)| name == to) {
            // A field already sent under the target name wins.
            fields.retain(|(name, _)| name != from);
        } else {
            for (name, _) in fields.iter_mut().filter(|(name, _)| name == from) {
                *name = (*to).to_owned();
            }
        }
    }
    fields.retain(|(name, _)| !quirks.drop.contains(&name.as_str()));
}

/// What a reply says, before the client adds cost and timing.
#[derive(Debug, PartialEq)]
pub(crate) struct Heard {
    pub text: String,
    pub language: Option<String>,
    pub duration: Option<Duration>,
    pub segments: Vec<Segment>,
}

#[derive(Deserialize)]
struct WireReply {
    text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    segments: Option<Vec<WireSegment>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireSegment {
    start: f64,
    end: f64,
    text: String,
}

/// OpenAI's two usage shapes and Mistral's, read as one.
#[derive(Deserialize)]
struct WireUsage {
    /// OpenAI, `type: duration`.
    #[serde(default)]
    seconds: Option<f64>,
    /// OpenAI, `type: tokens`.
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    /// Mistral.
    #[serde(default)]
    prompt_audio_seconds: Option<f64>,
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Parses a reply asked for in `format`, and what it says was used: the
/// tokens and billed seconds of its `usage`, else (no usage at all) the
/// audio's duration it gives. A reply that says neither has an empty usage;
/// the client then falls back on the audio's own header.
pub(crate) fn parse(
    provider: &'static str,
    body: &[u8],
    format: TranscriptionFormat,
) -> Result<(Heard, Usage)> {
    // A plain-text reply is the transcript; Mistral answers JSON whatever
    // was asked, so a text reply that is a JSON object with a `text` is
    // read as JSON.
    let json = format != TranscriptionFormat::Text || body.trim_ascii_start().starts_with(b"{");
    if json {
        match serde_json::from_slice::<WireReply>(body) {
            Ok(reply) => return reply.decode(provider, body),
            Err(error) if format != TranscriptionFormat::Text => {
                return Err(Error::decode_source(provider, error, body));
            }
            // A transcript that starts with a brace.
            Err(_) => {}
        }
    }
    let text = std::str::from_utf8(body)
        .map_err(|error| Error::decode_source(provider, error, body))?
        .trim_end_matches(['\r', '\n'])
        .to_owned();
    let heard = Heard {
        text,
        language: None,
        duration: None,
        segments: Vec::new(),
    };
    Ok((heard, Usage::default()))
}

impl WireReply {
    fn decode(self, provider: &'static str, body: &[u8]) -> Result<(Heard, Usage)> {
        let time = |seconds: f64, what: &str| {
            millis(seconds).ok_or_else(|| {
                Error::decode(
                    provider,
                    format!("`{what}` is not a number of seconds: {seconds}"),
                    body,
                )
            })
        };
        let duration = self
            .duration
            .map(|seconds| time(seconds, "duration"))
            .transpose()?;
        let segments = self
            .segments
            .unwrap_or_default()
            .into_iter()
            .map(|segment| {
                Ok(Segment::new(
                    time(segment.start, "start")?,
                    time(segment.end, "end")?,
                    segment.text,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let usage = match self.usage {
            Some(usage) => {
                let billed = usage
                    .seconds
                    .or(usage.prompt_audio_seconds)
                    .map(|seconds| time(seconds, "usage.seconds"))
                    .transpose()?;
                Usage::new(
                    usage.input_tokens.or(usage.prompt_tokens).unwrap_or(0),
                    usage.output_tokens.or(usage.completion_tokens).unwrap_or(0),
                )
                .with_audio_duration(billed.unwrap_or_default())
            }
            // No usage (Azure, older servers): the duration is what is billed.
            None => Usage::default().with_audio_duration(duration.unwrap_or_default()),
        };
        let heard = Heard {
            text: self.text,
            language: self.language,
            duration,
            segments,
        };
        Ok((heard, usage))
    }
}

/// Seconds as a duration rounded to the millisecond: providers send `f32`
/// values widened to `f64` (`8.470000267028809` for 8.47 s), and llmax prices
/// durations in whole milliseconds so that costs come out exact. `None` for
/// a negative, infinite or NaN value.
fn millis(seconds: f64) -> Option<Duration> {
    let millis = (seconds * 1000.0).round();
    // Past 2^53 ms (285,000 years), a float is no longer a count.
    (millis.is_finite() && (0.0..9_007_199_254_740_992.0).contains(&millis))
        .then(|| Duration::from_millis(millis as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str, format: TranscriptionFormat) -> (Heard, Usage) {
        parse("openai", body.as_bytes(), format).unwrap()
    }

    #[test]
    fn verbose_json_gives_language_duration_segments_and_billed_seconds() {
        let (heard, usage) = parsed(
            r#"{"task":"transcribe","language":"english","duration":8.470000267028809,
                "text":"The beach.","segments":[{"id":0,"seek":0,"start":0.0,
                "end":3.319999933242798,"text":" The beach.","tokens":[1],"temperature":0.0,
                "avg_logprob":-0.28,"compression_ratio":1.2,"no_speech_prob":0.01}],
                "usage":{"type":"duration","seconds":9}}"#,
            TranscriptionFormat::VerboseJson,
        );
        assert_eq!(heard.text, "The beach.");
        assert_eq!(heard.language.as_deref(), Some("english"));
        assert_eq!(heard.duration, Some(Duration::from_millis(8_470)));
        assert_eq!(
            heard.segments,
            [Segment::new(
                Duration::ZERO,
                Duration::from_millis(3_320),
                " The beach.".into()
            )]
        );
        // Billed: the usage's whole seconds, not the duration.
        assert_eq!(
            usage,
            Usage::default().with_audio_duration(Duration::from_secs(9))
        );
    }

    #[test]
    fn a_reply_without_usage_bills_its_duration() {
        let (_, usage) = parsed(
            r#"{"text":"Hi","language":"french","duration":90.0}"#,
            TranscriptionFormat::VerboseJson,
        );
        assert_eq!(usage.audio_duration, Duration::from_secs(90));
        let (heard, usage) = parsed(r#"{"text":"Hi"}"#, TranscriptionFormat::Json);
        assert_eq!(heard.duration, None);
        assert!(usage.is_empty());
    }

    #[test]
    fn token_usage_and_mistral_usage_are_read() {
        let (_, usage) = parsed(
            r#"{"text":"x","usage":{"type":"tokens","input_tokens":122,
                "input_token_details":{"text_tokens":0,"audio_tokens":122},
                "output_tokens":47,"total_tokens":169}}"#,
            TranscriptionFormat::Json,
        );
        assert_eq!(usage, Usage::new(122, 47));
        let (heard, usage) = parsed(
            r#"{"model":"voxtral-mini-latest","text":"x","language":null,"segments":[],
                "usage":{"prompt_audio_seconds":36,"prompt_tokens":13,"completion_tokens":151,
                "total_tokens":164}}"#,
            TranscriptionFormat::VerboseJson,
        );
        assert_eq!(heard.language, None);
        assert_eq!(
            usage,
            Usage::new(13, 151).with_audio_duration(Duration::from_secs(36))
        );
    }

    #[test]
    fn text_replies_are_the_transcript() {
        let (heard, usage) = parsed("Bonjour à tous.\n", TranscriptionFormat::Text);
        assert_eq!(heard.text, "Bonjour à tous.");
        assert!(usage.is_empty());
        let (heard, _) = parsed("{braces} said aloud", TranscriptionFormat::Text);
        assert_eq!(heard.text, "{braces} said aloud");
        // Mistral's JSON, when text was asked.
        let (heard, _) = parsed(
            r#"{"text":"Hi","language":"en"}"#,
            TranscriptionFormat::Text,
        );
        assert_eq!(heard.text, "Hi");
        assert_eq!(heard.language.as_deref(), Some("en"));
    }

    #[test]
    fn bad_replies_are_decode_errors() {
        for (body, format) in [
            ("Hello", TranscriptionFormat::Json),
            (r#"{"language":"en"}"#, TranscriptionFormat::VerboseJson),
            (
                r#"{"text":"x","duration":-1}"#,
                TranscriptionFormat::VerboseJson,
            ),
            (
                r#"{"text":"x","duration":1e300}"#,
                TranscriptionFormat::VerboseJson,
            ),
        ] {
            let error = parse("openai", body.as_bytes(), format).unwrap_err();
            assert!(matches!(error, Error::Decode { .. }), "{body}: {error:?}");
        }
        let error = parse("openai", b"\xff\xfe", TranscriptionFormat::Text).unwrap_err();
        assert!(matches!(error, Error::Decode { .. }));
    }

    #[test]
    fn quirks_rename_and_drop_form_fields() {
        let mut fields = vec![
            ("model".to_owned(), "m".to_owned()),
            ("prompt".to_owned(), "p".to_owned()),
            ("seed".to_owned(), "1".to_owned()),
        ];
        apply(
            &mut fields,
            &Quirks {
                rename: &[("seed", "random_seed")],
                drop: &["prompt"],
                json_object_as_json_schema: false,
            },
        );
        assert_eq!(
            fields,
            [
                ("model".to_owned(), "m".to_owned()),
                ("random_seed".to_owned(), "1".to_owned())
            ]
        );
    }
}
