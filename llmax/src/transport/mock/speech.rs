//! The mock's text to speech: `POST {base}/audio/speech`, answered with
//! real, deterministic audio bytes.
//!
//! - The audio is a 400 Hz square tone, 16-bit PCM at 24 kHz mono (OpenAI's
//!   PCM format), lasting 10 ms per input character: `Bonjour` gives 70 ms.
//! - `wav` is that tone with its RIFF header; `pcm` the bare samples. The
//!   other formats (`mp3`, `opus`, `aac`, `flac`) are answered with the
//!   same WAV bytes under the format's content type (`audio/mpeg`...): the
//!   mock encodes nothing, and a WAV is the one payload every player and
//!   test can check. Write them to a `.wav` file to listen.
//! - Refused with a 400, as OpenAI does: no `model`, no or empty `input`,
//!   more than 4,096 characters, no `voice`, an unknown `response_format`,
//!   a `speed` that is not a number from 0.25 to 4.0.

use serde_json::Value;

use super::{error, ok};
use crate::transport::Reply;

/// OpenAI's sample rate for PCM output.
const SAMPLE_RATE: u32 = 24_000;
/// Samples per input character: 10 ms.
const SAMPLES_PER_CHARACTER: usize = 240;
/// Half a period of 400 Hz at 24 kHz, in samples.
const HALF_PERIOD: usize = 30;
/// The tone's amplitude: a quarter of full scale.
const AMPLITUDE: i16 = 8_192;
/// OpenAI's limit on the input.
const MAX_CHARACTERS: usize = 4_096;

/// Answers one request.
pub(super) fn answer(body: &[u8]) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(why) => return error(400, &format!("invalid speech request: {why}")),
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str);
    if text("model").is_none() {
        return error(400, "you must provide a model parameter");
    }
    let Some(input) = text("input").filter(|input| !input.is_empty()) else {
        return error(400, "Missing required parameter: 'input'.");
    };
    let characters = input.chars().count();
    if characters > MAX_CHARACTERS {
        return error(
            400,
            &format!("'input' is too long: {characters} characters, at most {MAX_CHARACTERS}"),
        );
    }
    if text("voice").is_none() {
        return error(400, "Missing required parameter: 'voice'.");
    }
    if let Some(speed) = request.get("speed")
        && !speed.as_f64().is_some_and(|s| (0.25..=4.0).contains(&s))
    {
        return error(
            400,
            &format!("'speed' must be a number from 0.25 to 4.0, not {speed}"),
        );
    }
    let format = match request.get("response_format") {
        None => "mp3",
        Some(Value::String(format)) => format.as_str(),
        Some(other) => return error(400, &format!("invalid 'response_format': {other}")),
    };
    let content_type = match format {
        "mp3" => "audio/mpeg",
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "pcm" => "audio/pcm",
        other => {
            return error(
                400,
                &format!(
                    "'response_format' must be one of mp3, opus, aac, flac, wav, pcm, not '{other}'"
                ),
            );
        }
    };
    let samples = tone(characters * SAMPLES_PER_CHARACTER);
    let audio = if format == "pcm" {
        samples
    } else {
        wav(&samples)
    };
    ok(content_type, audio)
}

/// `count` samples of the square tone, little-endian.
fn tone(count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 2);
    for index in 0..count {
        let sample = if (index / HALF_PERIOD).is_multiple_of(2) {
            AMPLITUDE
        } else {
            -AMPLITUDE
        };
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// The samples in a canonical 44-byte-header WAV file (mono, 16-bit).
pub(crate) fn wav(samples: &[u8]) -> Vec<u8> {
    // At most 4,096 characters, so the sizes fit in a u32 by far.
    let data = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + samples.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // bytes a second
    out.extend_from_slice(&2u16.to_le_bytes()); // bytes a frame
    out.extend_from_slice(&16u16.to_le_bytes()); // bits a sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    out.extend_from_slice(samples);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(reply: Reply) -> (u16, Vec<u8>) {
        match reply {
            Reply::Mock { status, body, .. } => (status, body.to_vec()),
            Reply::Http(_) => unreachable!(),
        }
    }

    #[test]
    fn wav_is_a_tone_as_long_as_the_text() {
        let (status, audio) = body(answer(
            br#"{"model":"tts-1","input":"Bonjour","voice":"alloy","response_format":"wav"}"#,
        ));
        assert_eq!(status, 200);
        assert_eq!(&audio[..4], b"RIFF");
        assert_eq!(&audio[8..16], b"WAVEfmt ");
        // 7 characters, 10 ms each, 24,000 samples a second, 2 bytes each.
        assert_eq!(audio.len(), 44 + 7 * 240 * 2);
        let (_, pcm) = body(answer(
            br#"{"model":"tts-1","input":"Bonjour","voice":"alloy","response_format":"pcm"}"#,
        ));
        assert_eq!(pcm, audio[44..]);
    }

    #[test]
    fn bad_requests_are_refused() {
        for request in [
            r#"{"input":"a","voice":"alloy"}"#,
            r#"{"model":"tts-1","input":"","voice":"alloy"}"#,
            r#"{"model":"tts-1","input":"a"}"#,
            r#"{"model":"tts-1","input":"a","voice":"alloy","speed":"fast"}"#,
            r#"{"model":"tts-1","input":"a","voice":"alloy","response_format":"ogg"}"#,
        ] {
            assert_eq!(body(answer(request.as_bytes())).0, 400, "{request}");
        }
    }
}
