//! Text to speech through the public API, against local servers: the JSON
//! body as a server reads it, OpenAI's and Azure's URLs, the audio bytes
//! returned intact (whole and streamed), costs per character to the
//! pico-dollar, and the engine's fault matrix (retries after `Retry-After`,
//! server errors, cut bodies, a spent budget, one usage record per call,
//! also for a stream dropped early).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llmax::{
    Deployment, Error, Message, MultiAIClient, Provider, ProviderErrorKind, SpeechFormat,
    SpeechOptions, Usd,
};
use llmax_tests::{RawServer, Recorder, Reply, client_with};

/// A WAV of a 440 Hz tone: 24 kHz (OpenAI's rate), 16-bit mono PCM,
/// `millis` long.
fn tone_wav(millis: u32) -> Vec<u8> {
    const RATE: u32 = 24_000;
    let samples = RATE / 1000 * millis;
    let data = samples * 2;
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
    for n in 0..samples {
        let phase = 2.0 * std::f64::consts::PI * 440.0 * f64::from(n) / f64::from(RATE);
        let sample = (phase.sin() * 0.3 * f64::from(i16::MAX)) as i16;
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

/// A 200 with audio, in pieces of `size` bytes, its length declared.
fn audio(body: &[u8], content_type: &str, size: usize) -> Reply {
    Reply::Pieces {
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        pieces: body.chunks(size).map(<[u8]>::to_vec).collect(),
        pause: Duration::ZERO,
        content_length: true,
    }
}

fn tts() -> llmax::Model {
    llmax::model!("tts-1")
}

fn openai(model: llmax::Model, url: &str) -> Deployment {
    Deployment::new(model, Provider::OpenAi)
        .endpoint(url)
        .api_key("sk-test")
}

fn usd(text: &str) -> Usd {
    text.parse().unwrap()
}

fn busy() -> Reply {
    Reply::Pieces {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "0.2".into()),
        ],
        pieces: vec![br#"{"error":{"message":"slow down","type":"rate_limit"}}"#.to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    }
}

#[tokio::test]
async fn the_body_is_exact_and_the_audio_arrives_intact() {
    let wav = tone_wav(500);
    let server = RawServer::start(vec![audio(&wav, "audio/wav", 4096)]).await;
    let model = llmax::model!("gpt-4o-mini-tts");
    let (client, records) = client_with(openai(model, &server.url));
    let text = "Bonjour, « café » crème.";
    let s = client
        .atext_to_speech(text, model)
        .voice("coral")
        .format(SpeechFormat::Wav)
        .speed(1.25)
        .instructions("Warm and calm.")
        .operation("greeting")
        .await
        .unwrap();
    assert!(s.audio == wav, "the audio arrives byte for byte");
    assert_eq!(s.format, SpeechFormat::Wav);
    assert_eq!((s.catalog_model, s.provider), ("gpt-4o-mini-tts", "openai"));

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.request_line, "POST /audio/speech HTTP/1.1");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        serde_json::json!({
            "model": "gpt-4o-mini-tts",
            "input": text,
            "voice": "coral",
            "response_format": "wav",
            "speed": 1.25,
            "instructions": "Warm and calm.",
        })
    );
    // 24 characters (not bytes: « » and é are two bytes each in UTF-8).
    assert_eq!(s.usage.characters, 24);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].operation, "greeting");
    assert_eq!(records[0].characters, 24);
    assert!(records[0].succeeded);

    // No option: voice alloy and MP3, asked for explicitly.
    let server = RawServer::start(vec![audio(b"ID3mp3", "audio/mpeg", 64)]).await;
    let (client, _) = client_with(openai(tts(), &server.url));
    let s = client.atext_to_speech("Hi", tts()).await.unwrap();
    assert_eq!(&s.audio[..], b"ID3mp3");
    assert_eq!(s.format, SpeechFormat::Mp3);
    assert_eq!(
        server.received()[0].json(),
        serde_json::json!({"model": "tts-1", "input": "Hi", "voice": "alloy", "response_format": "mp3"})
    );
}

#[tokio::test]
async fn the_cost_is_the_characters_at_the_catalog_price() {
    // 1,000 characters: tts-1 at $15 a million, tts-1-hd at $30.
    let text = "é".repeat(1_000);
    for (model, provider, cost) in [
        (tts(), Provider::OpenAi, "0.015"),
        (llmax::model!("tts-1-hd"), Provider::OpenAi, "0.03"),
        (llmax::model!("tts-1-hd"), Provider::Azure, "0.03"),
        (llmax::model!("gpt-4o-mini-tts"), Provider::OpenAi, "0.015"),
    ] {
        let price = model.price(provider).unwrap().per_character.unwrap();
        assert_eq!(price.saturating_mul(1_000), usd(cost), "{model:?}");
        let server = RawServer::start(vec![audio(&tone_wav(10), "audio/wav", 1024)]).await;
        let deployment = Deployment::new(model, provider)
            .endpoint(&server.url)
            .api_key("k");
        let deployment = if provider == Provider::Azure {
            deployment.deployment_name("speech")
        } else {
            deployment
        };
        let (client, records) = client_with(deployment);
        let s = client.atext_to_speech(&text, model).await.unwrap();
        assert_eq!(s.cost, usd(cost), "{model:?} on {provider:?}");
        assert_eq!(records.wait_for(1).await[0].cost, usd(cost));
    }
}

#[tokio::test]
async fn azure_takes_the_deployment_url_and_its_api_version() {
    let server = RawServer::start(vec![audio(&tone_wav(10), "audio/mpeg", 1024)]).await;
    let (client, records) = client_with(
        Deployment::new(tts(), Provider::Azure)
            .endpoint(&server.url)
            .deployment_name("tts")
            .api_key("azure-key"),
    );
    client.atext_to_speech("Hello", tts()).await.unwrap();
    let request = &server.received()[0];
    assert!(
        request
            .request_line
            .starts_with("POST /openai/deployments/tts/audio/speech?api-version="),
        "{}",
        request.request_line
    );
    assert_eq!(request.header("api-key"), Some("azure-key"));
    assert_eq!(request.json()["model"], "tts");
    assert_eq!(records.wait_for(1).await[0].provider, "azure");
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_retry_after_and_server_errors_too() {
    let wav = tone_wav(100);
    let server = RawServer::start(vec![busy(), audio(&wav, "audio/wav", 1024)]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let started = Instant::now();
    let s = client
        .atext_to_speech("Hello", tts())
        .tries(3)
        // Retry-After, not this backoff, sets the wait.
        .delay(Duration::from_secs(30))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert!(s.audio == wav);
    assert_eq!(server.received().len(), 2);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].attempts, records[0].succeeded), (2, true));

    let failing = |status| {
        Reply::json(
            status,
            br#"{"error":{"message":"boom","type":"server_error"}}"#.to_vec(),
        )
    };
    let server = RawServer::start(vec![
        failing(500),
        failing(503),
        audio(&wav, "audio/wav", 1024),
    ])
    .await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let s = client
        .atext_to_speech("Hello", tts())
        .tries(3)
        .await
        .unwrap();
    assert!(s.audio == wav);
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].attempts), (1, 3));

    // Out of tries: the rate limit, accounted once, at no cost.
    let server = RawServer::start(vec![busy()]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let error = client
        .atext_to_speech("Hello", tts())
        .tries(2)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the rate limit, got {error:?}");
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    assert_eq!(server.received().len(), 2);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].attempts, records[0].succeeded), (2, false));
    assert_eq!(records[0].cost, Usd::ZERO);
}

#[tokio::test]
async fn a_cut_or_empty_body_fails_and_is_accounted_once() {
    // The connection closes 100 bytes into a declared 4,844-byte body.
    let wav = tone_wav(100);
    let cut = Reply::Pieces {
        status: 200,
        headers: vec![
            ("content-type".into(), "audio/wav".into()),
            ("content-length".into(), wav.len().to_string()),
        ],
        pieces: vec![wav[..100].to_vec()],
        pause: Duration::ZERO,
        content_length: false,
    };
    let server = RawServer::start(vec![cut]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let error = client.atext_to_speech("Hello", tts()).await.unwrap_err();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));

    let server = RawServer::start(vec![audio(b"", "audio/mpeg", 1)]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let error = client.atext_to_speech("Hello", tts()).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));
}

#[tokio::test]
async fn nothing_is_sent_for_a_spent_budget_bad_options_or_the_wrong_model() {
    let server = RawServer::start(vec![audio(b"x", "audio/mpeg", 1)]).await;
    let records = Recorder::default();
    let gpt4o = llmax::model!("gpt-4o");
    let client = records
        .attach(
            MultiAIClient::builder()
                .deployment(openai(tts(), &server.url))
                .deployment(openai(gpt4o, &server.url))
                .budget(Usd::dollars(1))
                .get_usage(|| async { Some(Usd::dollars(2)) }),
        )
        .build()
        .unwrap();
    let error = client.atext_to_speech("Hello", tts()).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");
    let error = client.astream_speech("Hello", tts()).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");

    for speed in [0.1, 4.5, f64::NAN] {
        let error = client
            .atext_to_speech("Hello", tts())
            .speed(speed)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    }
    let error = client.atext_to_speech("", tts()).await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");

    // A chat model through text to speech, a speech model through chat.
    let error = client.atext_to_speech("Hello", gpt4o).await.unwrap_err();
    match &error {
        Error::InvalidRequest { model, message } => {
            assert_eq!(*model, "gpt-4o");
            assert_eq!(
                message,
                "`gpt-4o` is a chat model; a text-to-speech call needs a speech model"
            );
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    let error = client
        .ainvoke(&[Message::user("Hello")], tts())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received().is_empty(), "nothing was sent");
    assert!(records.all().is_empty(), "nothing was accounted");
}

#[tokio::test]
async fn the_stream_yields_the_bytes_in_order_and_accounts_once() {
    // 2 s of audio in 1,000-byte writes: many chunks.
    let wav = tone_wav(2_000);
    let server = RawServer::start(vec![busy(), audio(&wav, "audio/wav", 1_000)]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let mut stream = client
        .atext_to_speech("Hello there", tts())
        .format(SpeechFormat::Wav)
        .tries(2)
        .stream()
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert!(got == wav, "the streamed audio is the body, in order");
    assert!(chunks > 1, "the audio came in pieces");
    let got_records = records.wait_for(1).await;
    assert_eq!(got_records.len(), 1);
    let record = &got_records[0];
    assert_eq!((record.attempts, record.succeeded), (2, true));
    assert_eq!(record.characters, 11);
    assert_eq!(record.cost, Usd::from_picos(11 * 15_000_000));
    assert_eq!(record.operation, "astream_speech");
    assert!(record.time_to_first_token.is_some());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(records.all().len(), 1, "accounted once");
}

#[tokio::test]
async fn a_stream_dropped_early_or_cut_is_accounted_once() {
    let wav = tone_wav(2_000);
    let slow = Reply::Pieces {
        status: 200,
        headers: vec![("content-type".into(), "audio/wav".into())],
        pieces: wav.chunks(1_000).map(<[u8]>::to_vec).collect(),
        pause: Duration::from_millis(5),
        content_length: true,
    };
    let server = RawServer::start(vec![slow]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let mut stream = client.astream_speech("Hello", tts()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(&first[..4], b"RIFF");
    drop(stream);
    let records_now = records.wait_for(1).await;
    assert_eq!(records_now.len(), 1);
    assert!(!records_now[0].succeeded);
    // The text was taken: its characters are billed.
    assert_eq!(records_now[0].characters, 5);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(records.all().len(), 1, "accounted once");

    // Cut midway: one error item, then the end; accounted once.
    let cut = Reply::Pieces {
        status: 200,
        headers: vec![
            ("content-type".into(), "audio/wav".into()),
            ("content-length".into(), wav.len().to_string()),
        ],
        pieces: vec![wav[..3_000].to_vec()],
        pause: Duration::ZERO,
        content_length: false,
    };
    let server = RawServer::start(vec![cut]).await;
    let (client, records) = client_with(openai(tts(), &server.url));
    let mut stream = client.astream_speech("Hello", tts()).await.unwrap();
    let mut got = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => got.extend_from_slice(&bytes),
            Err(e) => error = Some(e),
        }
    }
    assert!(got == wav[..3_000], "what came before the cut, in order");
    assert!(
        matches!(error, Some(Error::StreamInterrupted { .. })),
        "{error:?}"
    );
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));

    // A JSON reply to a stream request is the provider's error.
    let server = RawServer::start(vec![Reply::json(
        200,
        br#"{"error":{"message":"no such voice","type":"invalid_request_error"}}"#.to_vec(),
    )])
    .await;
    let (client, _) = client_with(openai(tts(), &server.url));
    let error = client.astream_speech("Hello", tts()).await.unwrap_err();
    assert!(matches!(error, Error::Provider(_)), "{error:?}");
}

#[tokio::test]
async fn the_mock_speaks_without_a_key() {
    let client = MultiAIClient::new([Deployment::new(tts(), Provider::Mock)]).unwrap();
    let s = client
        .atext_to_speech("Bonjour", tts())
        .voice("alloy")
        .format(SpeechFormat::Wav)
        .await
        .unwrap();
    assert_eq!(&s.audio[..4], b"RIFF");
    // 7 characters, 10 ms each at 24 kHz, 16-bit.
    assert_eq!(s.audio.len(), 44 + 7 * 240 * 2);
    assert_eq!(s.cost, Usd::from_picos(7 * 15_000_000));
    let pcm = client
        .atext_to_speech("Bonjour", tts())
        .format(SpeechFormat::Pcm)
        .await
        .unwrap();
    assert_eq!(pcm.audio, s.audio.slice(44..));
    let streamed = client
        .astream_speech("Bonjour", tts())
        .await
        .unwrap()
        .collect_bytes()
        .await
        .unwrap();
    // MP3 asked: the mock answers its WAV bytes (it encodes nothing).
    assert!(streamed == s.audio);
    // The mock refuses what OpenAI refuses.
    let error = client
        .atext_to_speech("Bonjour", tts())
        .extra("speed", "fast")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Provider(_)), "{error:?}");
}

#[test]
fn the_blocking_twins_speak_outside_a_runtime() {
    let client = MultiAIClient::new([Deployment::new(tts(), Provider::Mock)]).unwrap();
    let s = client.text_to_speech("Hi", tts()).unwrap();
    assert_eq!(s.usage.characters, 2);
    let s = client
        .text_to_speech_with("Hi", tts(), SpeechOptions::new().format(SpeechFormat::Pcm))
        .unwrap();
    assert_eq!(s.audio.len(), 2 * 240 * 2);
}
