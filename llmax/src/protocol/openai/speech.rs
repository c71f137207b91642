//! OpenAI's text-to-speech endpoint (`POST {base}/audio/speech`), also
//! served by Azure OpenAI: the JSON body of a request. The reply is the
//! audio itself (`audio/mpeg`, `audio/wav`...), not JSON, so there is
//! nothing to parse: the engine hands the bytes on as they are.

use serde_json::{Map, Value};

use crate::catalog::Quirks;
use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::protocol::finite;
use crate::speech::{DEFAULT_VOICE, SpeechFormat, SpeechOptions};

/// The speeds OpenAI accepts.
const SPEEDS: std::ops::RangeInclusive<f64> = 0.25..=4.0;

/// The request body: `model`, `input`, `voice`, `response_format` (always
/// sent, so that the result's format is the one asked for, whatever the
/// provider's default), `speed` and `instructions` when set, the extra
/// fields, then the manifest's quirks. Refuses an empty text and a speed
/// out of range before anything is sent.
pub(crate) fn body(
    resolved: &Resolved,
    input: &str,
    options: &SpeechOptions,
    format: SpeechFormat,
) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    if input.is_empty() {
        return Err(invalid("no text to speak".to_owned()));
    }
    let mut body = Map::new();
    body.insert("model".into(), resolved.wire_model.clone().into());
    body.insert("input".into(), input.into());
    let voice = options.voice.as_deref().unwrap_or(DEFAULT_VOICE);
    body.insert("voice".into(), voice.into());
    body.insert("response_format".into(), format.as_str().into());
    if let Some(speed) = options.speed {
        let value = finite(model, "speed", speed)?;
        if !SPEEDS.contains(&speed) {
            return Err(invalid(format!(
                "`speed` must be between 0.25 and 4.0, not {speed}"
            )));
        }
        body.insert("speed".into(), value);
    }
    if let Some(instructions) = &options.instructions {
        body.insert("instructions".into(), instructions.as_str().into());
    }
    for (key, value) in &options.extra {
        body.insert(key.clone(), value.clone());
    }
    apply(&mut body, &resolved.provider.quirks);
    apply(&mut body, &resolved.model_quirks);
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

/// The manifest's rewrites, as chat bodies get them: a field already sent
/// under the target name wins over a renamed one.
fn apply(body: &mut Map<String, Value>, quirks: &Quirks) {
    for (from, to) in quirks.rename {
        if let Some(value) = body.shift_remove(*from)
            && !body.contains_key(*to)
        {
            body.insert((*to).to_owned(), value);
        }
    }
    body.retain(|key, _| !quirks.drop.contains(&key.as_str()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use crate::deployment::Deployment;
    use crate::generated::Provider;

    fn resolved() -> Resolved {
        Deployment::new(Model::Tts1, Provider::Mock)
            .resolve()
            .unwrap()
    }

    fn body_of(options: &SpeechOptions) -> Result<Value> {
        let bytes = body(&resolved(), "Bonjour", options, SpeechFormat::Mp3)?;
        Ok(serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn the_body_has_the_defaults_and_the_options() {
        assert_eq!(
            body_of(&SpeechOptions::new()).unwrap(),
            serde_json::json!({"model": "tts-1", "input": "Bonjour", "voice": "alloy", "response_format": "mp3"})
        );
        let options = SpeechOptions::new()
            .voice("nova")
            .speed(0.25)
            .instructions("Slowly.")
            .extra("voice", "echo");
        let body = body_of(&options).unwrap();
        assert_eq!(body["speed"], 0.25);
        assert_eq!(body["instructions"], "Slowly.");
        // Extra fields are set last.
        assert_eq!(body["voice"], "echo");
    }

    #[test]
    fn bad_speeds_and_empty_text_are_refused() {
        for speed in [0.2, 4.01, f64::NAN, f64::INFINITY] {
            let error = body_of(&SpeechOptions::new().speed(speed)).unwrap_err();
            assert!(matches!(error, Error::InvalidRequest { .. }), "{speed}");
        }
        let error = body(&resolved(), "", &SpeechOptions::new(), SpeechFormat::Mp3).unwrap_err();
        assert!(error.to_string().contains("no text"), "{error}");
    }
}
