//! Speaks a text and writes the audio to a file, whole, then again as a
//! byte stream.
//!
//! ```bash
//! cargo run --example speak                    # writes to the temporary folder
//! cargo run --example speak -- bonjour.wav     # writes to this path
//! ```
//!
//! It uses llmax's in-process `mock` provider (no network, no key), whose
//! audio is a tone as long as the text (10 ms a character), as a WAV file.

use futures_util::StreamExt;
use llmax::{Deployment, MultiAIClient, Provider, SpeechFormat};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("llmax-bonjour.wav"));
    let model = llmax::model!("tts-1");
    let client = MultiAIClient::new([Deployment::new(model, Provider::Mock)])?;

    let s = client
        .atext_to_speech("Bonjour, et bienvenue à bord.", model)
        .voice("alloy")
        .format(SpeechFormat::Wav)
        .await?;
    std::fs::write(&path, &s.audio)?;
    println!(
        "{} bytes of {} audio in {} ({} characters, {})",
        s.audio.len(),
        s.format.as_str(),
        path.display(),
        s.usage.characters,
        s.cost
    );

    // A long text, written as it arrives.
    let long = "A long story, told slowly. ".repeat(20);
    let mut stream = client
        .atext_to_speech(long, model)
        .format(SpeechFormat::Wav)
        .stream()
        .await?;
    let mut written = 0;
    while let Some(chunk) = stream.next().await {
        written += chunk?.len();
    }
    println!("streamed {written} bytes");
    Ok(())
}
