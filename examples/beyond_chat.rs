//! Beyond chat: embeddings, speech to text, text to speech and images, on
//! the in-process mock provider (no key, no network). This is the snippet of
//! the project's issue, as a user writes it.
//!
//! ```text
//! cargo run --example beyond_chat
//! ```

use llmax::{Deployment, MultiAIClient, Provider};

/// A 16 kHz, 16-bit mono WAV: half a second of a 440 Hz tone.
fn wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..8_000)
        .map(|n| {
            let t = n as f64 / 16_000.0;
            (f64::sin(2.0 * std::f64::consts::PI * 440.0 * t) * 8_000.0) as i16
        })
        .collect();
    let data = (samples.len() * 2) as u32;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    for value in [16u32, 0x0001_0001, 16_000, 32_000, 0x0010_0002] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wav = wav();
    let client = MultiAIClient::new([
        Deployment::new(llmax::model!("text-embedding-3-small"), Provider::Mock),
        Deployment::new(llmax::model!("whisper-1"), Provider::Mock),
        Deployment::new(llmax::model!("tts-1"), Provider::Mock),
        Deployment::new(llmax::model!("gpt-image-1"), Provider::Mock),
    ])?;
    let e = client
        .aembed(&["hello", "world"], llmax::model!("text-embedding-3-small"))
        .await?;
    assert_eq!(e.embeddings.len(), 2);
    println!(
        "embedded 2 texts in {} dimensions ({})",
        e.embeddings[0].len(),
        e.cost
    );
    let t = client
        .aspeech_to_text(
            llmax::Audio::from_bytes(wav, "hello.wav"),
            llmax::model!("whisper-1"),
        )
        .language("fr")
        .await?;
    println!("{} ({})", t.text, t.cost);
    let s = client
        .atext_to_speech("Bonjour", llmax::model!("tts-1"))
        .voice("alloy")
        .await?;
    let path = std::env::temp_dir().join("bonjour.mp3");
    std::fs::write(&path, &s.audio)?;
    println!(
        "wrote {} bytes of speech to {} ({})",
        s.audio.len(),
        path.display(),
        s.cost
    );
    let i = client
        .atext_to_image("a lighthouse at dawn", llmax::model!("gpt-image-1"))
        .await?;
    println!("drew {} image(s) ({})", i.images.len(), i.cost);
    Ok(())
}
