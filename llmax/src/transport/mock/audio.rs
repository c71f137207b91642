//! The mock's speech to text: `POST {base}/audio/transcriptions`, answered
//! from the multipart description the engine holds (the mock parses no
//! bytes), in OpenAI's wire shapes.
//!
//! - The text is `Mock transcription of NAME (N bytes).`, NAME being the
//!   uploaded file name.
//! - The audio lasts what its WAV header says; any other format is taken
//!   for 128 kbit/s (the usual MP3 rate): 16,000 bytes a second.
//! - `response_format`: `text` (plain text), `json` (the default:
//!   `{"text", "usage"}`), `verbose_json` (with `language`, the `language`
//!   field or `english`, `duration`, and one segment over the whole audio);
//!   others are refused with a 400.
//! - `usage`: models named `gpt-*` count tokens, as OpenAI's
//!   `gpt-4o-transcribe` does (10 audio tokens a second, rounded up, plus
//!   the prompt at four characters a token; the text at four characters a
//!   token) and refuse `verbose_json`, as it does; the others bill the
//!   duration in whole seconds, rounded up, as `whisper-1` does.

use std::time::Duration;

use serde_json::{Value, json};

use super::{error, ok, tokens};
use crate::transport::Reply;
use crate::transport::multipart::Form;

/// Bytes a second of audio whose header says nothing (128 kbit/s).
const BYTES_PER_SECOND: u64 = 16_000;

/// Answers one upload.
pub(super) fn answer(url: &reqwest::Url, form: &Form) -> Reply {
    if !url.path().ends_with("/audio/transcriptions") {
        return error(
            404,
            &format!(
                "the mock provider takes uploads at /audio/transcriptions only, not {}",
                url.path()
            ),
        );
    }
    let Some(model) = form.field("model") else {
        return error(400, "you must provide a model parameter");
    };
    let format = form.field("response_format").unwrap_or("json");
    let by_tokens = model.starts_with("gpt-");
    if by_tokens && format == "verbose_json" {
        return error(
            400,
            &format!(
                "response_format 'verbose_json' is not compatible with model '{model}'. Use 'json' or 'text' instead."
            ),
        );
    }
    let file = &form.file;
    let duration = file.duration.unwrap_or_else(|| {
        Duration::from_nanos(file.size.saturating_mul(1_000_000_000 / BYTES_PER_SECOND))
    });
    let text = format!(
        "Mock transcription of {} ({} bytes).",
        file.filename, file.size
    );
    let usage = if by_tokens {
        let audio = u64::try_from(duration.as_millis().div_ceil(100)).unwrap_or(u64::MAX);
        let prompt = form.field("prompt").map_or(0, tokens);
        let input = audio.saturating_add(prompt);
        let output = tokens(&text);
        json!({
            "type": "tokens",
            "input_tokens": input,
            "input_token_details": {"text_tokens": prompt, "audio_tokens": audio},
            "output_tokens": output,
            "total_tokens": input.saturating_add(output),
        })
    } else {
        let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
        json!({"type": "duration", "seconds": seconds})
    };
    let seconds = duration.as_millis() as f64 / 1000.0;
    match format {
        "text" => ok(
            "text/plain; charset=utf-8",
            format!("{text}\n").into_bytes(),
        ),
        "json" => ok(
            "application/json",
            json!({"text": text, "usage": usage})
                .to_string()
                .into_bytes(),
        ),
        "verbose_json" => {
            let language: Value = form.field("language").unwrap_or("english").into();
            let segment = json!({
                "id": 0, "seek": 0, "start": 0.0, "end": seconds, "text": text,
                "tokens": [], "temperature": 0.0, "avg_logprob": -0.1,
                "compression_ratio": 1.0, "no_speech_prob": 0.0,
            });
            let body = json!({
                "task": "transcribe",
                "language": language,
                "duration": seconds,
                "text": text,
                "segments": [segment],
                "usage": usage,
            });
            ok("application/json", body.to_string().into_bytes())
        }
        other => error(
            400,
            &format!("the mock provider answers text, json and verbose_json, not `{other}`"),
        ),
    }
}
