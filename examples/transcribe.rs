//! Transcribes an audio file and prints the text, its segments and its cost.
//!
//! ```bash
//! cargo run --example transcribe -- path/to/audio.mp3
//! cargo run --example transcribe            # a generated 3-second WAV
//! ```
//!
//! With no configuration it uses llmax's in-process `mock` provider (no
//! network, no key) and says so. With `OPENAI_API_KEY` set it calls OpenAI's
//! `whisper-1`; with `AZURE_OPENAI_API_KEY` and `AZURE_OPENAI_ENDPOINT` (and
//! optionally `AZURE_OPENAI_WHISPER_DEPLOYMENT`, default `whisper-1`) it calls
//! Azure OpenAI, as the Python llmax's README deploys it. A file is streamed
//! from disk, never read whole.

use std::path::PathBuf;

use llmax::{Audio, Deployment, Model, MultiAIClient, Provider};

fn deployment(model: Model) -> (Deployment, &'static str) {
    let set = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let (Some(key), Some(endpoint)) = (set("AZURE_OPENAI_API_KEY"), set("AZURE_OPENAI_ENDPOINT"))
    {
        let name = set("AZURE_OPENAI_WHISPER_DEPLOYMENT").unwrap_or_else(|| model.to_string());
        let deployment = Deployment::new(model, Provider::Azure)
            .api_key(key)
            .endpoint(endpoint)
            .deployment_name(name);
        return (deployment, "Azure OpenAI");
    }
    if let Some(key) = set("OPENAI_API_KEY") {
        return (
            Deployment::new(model, Provider::OpenAi).api_key(key),
            "OpenAI",
        );
    }
    (
        Deployment::new(model, Provider::Mock),
        "the mock provider (no network; set OPENAI_API_KEY to call OpenAI)",
    )
}

/// A WAV of a 440 Hz tone, `seconds` long: 16 kHz, 16-bit mono PCM.
fn tone(seconds: u32) -> Vec<u8> {
    const RATE: u32 = 16_000;
    let samples = RATE * seconds;
    let data = samples * 2;
    let mut wav = b"RIFF".to_vec();
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
    for n in 0..samples {
        let phase = 2.0 * std::f64::consts::PI * 440.0 * f64::from(n) / f64::from(RATE);
        let sample = (phase.sin() * 0.3 * f64::from(i16::MAX)) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

#[tokio::main]
async fn main() -> llmax::Result<()> {
    let model = llmax::model!("whisper-1");
    let (deployment, provider) = deployment(model);
    let audio = match std::env::args_os().nth(1) {
        Some(path) => Audio::from_path(PathBuf::from(path)),
        None => {
            println!("No file given: transcribing a generated 3-second tone.");
            Audio::from_bytes(tone(3), "tone.wav")
        }
    };
    println!("Transcribing {audio:?} with {model} on {provider}.\n");

    let client = MultiAIClient::builder()
        .deployment(deployment)
        .increment_usage(|record| async move {
            println!(
                "[usage] {} on {}: {:?} of audio, {} attempt(s), cost {}",
                record.model, record.provider, record.audio_duration, record.attempts, record.cost
            );
        })
        .build()?;

    let t = client.aspeech_to_text(audio, model).tries(3).await?;
    println!("{}\n", t.text);
    if let Some(language) = &t.language {
        println!("language: {language}");
    }
    if let Some(duration) = t.duration {
        println!("duration: {:.2} s", duration.as_secs_f64());
    }
    for segment in &t.segments {
        println!(
            "  [{:>7.2} s – {:>7.2} s] {}",
            segment.start.as_secs_f64(),
            segment.end.as_secs_f64(),
            segment.text.trim()
        );
    }
    println!("cost: {} ({:.8} USD)", t.cost, t.cost.as_f64());
    Ok(())
}
