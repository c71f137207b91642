//! Speech to text through the public API: the multipart upload as a server
//! reads it (fields, file name, content type, and the audio byte for byte,
//! from memory and streamed from disk), each reply format decoded (recorded
//! OpenAI and Mistral replies), costs per minute and per token to the
//! pico-dollar, the providers' URLs, and the engine's fault matrix (retries
//! that resend the whole file, server errors, cut bodies, a spent budget,
//! one usage record per call).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use llmax::{
    Audio, Deployment, Error, MultiAIClient, Provider, ProviderErrorKind, TranscriptionFormat,
    TranscriptionOptions, Usage, Usd,
};
use llmax_tests::{RawServer, Received, Recorder, Reply, client_with, fixture};

/// A WAV of a 440 Hz tone: 16 kHz, 16-bit mono PCM, `millis` long.
fn tone_wav(millis: u32) -> Vec<u8> {
    const RATE: u32 = 16_000;
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

/// A file in the temporary folder, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        // A folder per file: tests run in parallel, and each removes its own.
        let dir =
            std::env::temp_dir().join(format!("llmax-transcription-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Part {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| at + from)
}

/// A disposition parameter: `name="file"` gives `file`.
fn parameter(disposition: &str, key: &str) -> Option<String> {
    disposition
        .split(';')
        .map(str::trim)
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .map(|value| value.trim_matches('"').to_owned())
}

/// Parses a received multipart body by the boundary its content type gives,
/// as a server would (RFC 7578).
fn parts(received: &Received) -> Vec<Part> {
    let content_type = received.header("content-type").unwrap();
    let (kind, boundary) = content_type.split_once("; boundary=").unwrap();
    assert_eq!(kind, "multipart/form-data");
    let delimiter = format!("--{boundary}").into_bytes();
    let body = &received.body;
    assert!(
        body.starts_with(&delimiter),
        "the body opens with a boundary"
    );
    let mut parts = Vec::new();
    let mut at = delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            assert_eq!(&body[at..], b"--\r\n", "the closing boundary ends the body");
            return parts;
        }
        assert!(body[at..].starts_with(b"\r\n"));
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start).unwrap();
        let head = std::str::from_utf8(&body[head_start..head_end]).unwrap();
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let end = find(body, &closing, head_end + 4).unwrap();
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            body: body[head_end + 4..end].to_vec(),
        };
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':').unwrap();
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    assert!(value.trim().starts_with("form-data"));
                    part.name = parameter(value, "name").unwrap();
                    part.filename = parameter(value, "filename");
                }
                "content-type" => part.content_type = Some(value.trim().to_owned()),
                other => panic!("unexpected part header {other}"),
            }
        }
        parts.push(part);
        at = end + closing.len();
    }
}

/// The text fields of a multipart body, in order, and its file part.
fn form(received: &Received) -> (Vec<(String, String)>, Part) {
    let mut parts = parts(received);
    let file = parts.pop().unwrap();
    assert_eq!(file.name, "file", "the file is the last part");
    let fields = parts
        .iter()
        .map(|part| {
            assert!(part.filename.is_none() && part.content_type.is_none());
            (part.name.clone(), part.text().to_owned())
        })
        .collect();
    (fields, file)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn whisper() -> llmax::Model {
    llmax::model!("whisper-1")
}

fn openai(model: llmax::Model, url: &str) -> Deployment {
    Deployment::new(model, Provider::OpenAi)
        .endpoint(url)
        .api_key("sk-test")
}

fn usd(text: &str) -> Usd {
    text.parse().unwrap()
}

fn verbose_reply() -> Reply {
    Reply::json(200, fixture("openai/openai-transcription.json"))
}

#[tokio::test]
async fn bytes_arrive_intact_in_a_real_multipart_body_with_every_field() {
    let wav = tone_wav(1000);
    assert_eq!(wav.len(), 32_044);
    let server = RawServer::start(vec![verbose_reply()]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(wav.clone(), "hello.wav"), whisper())
        .language("fr")
        .prompt("Bonjour, « café » crème.")
        .temperature(0.2)
        .extra(
            "timestamp_granularities",
            serde_json::json!(["word", "segment"]),
        )
        .extra("user", "u-42")
        .extra("ignored", serde_json::Value::Null)
        .await
        .unwrap();
    assert!(t.text.starts_with("Galileo was an American"));

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.request_line, "POST /audio/transcriptions HTTP/1.1");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    // One content type, multipart's, and a declared length.
    let content_types = request
        .headers
        .iter()
        .filter(|(name, _)| name == "content-type")
        .count();
    assert_eq!(content_types, 1, "{:?}", request.headers);
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
    let (fields, file) = form(request);
    let expected = [
        ("model", "whisper-1"),
        ("language", "fr"),
        ("prompt", "Bonjour, « café » crème."),
        ("temperature", "0.2"),
        // No format asked: whisper-1 is priced by the minute, so verbose JSON.
        ("response_format", "verbose_json"),
        ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"),
        ("user", "u-42"),
    ];
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(fields, expected);
    assert_eq!(file.filename.as_deref(), Some("hello.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    assert!(file.body == wav, "the audio arrives byte for byte");
    assert_eq!(records.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_file_is_streamed_from_disk_byte_for_byte() {
    // 40 s of tone: 1.28 MB, more than one read of the file.
    let wav = tone_wav(40_000);
    let file = TempFile::new("interview.WAV", &wav);
    let server = RawServer::start(vec![Reply::json(200, br#"{"text":"ok"}"#.to_vec())]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_path(&file.0), whisper())
        .response_format(TranscriptionFormat::Json)
        .await
        .unwrap();
    assert_eq!(t.text, "ok");
    // No usage in the reply: the WAV header's 40 s are billed.
    assert_eq!(t.usage.audio_duration, Duration::from_secs(40));
    assert_eq!(t.duration, Some(Duration::from_secs(40)));
    assert_eq!(t.cost, usd("0.004"));
    let (fields, part) = form(&server.received()[0]);
    assert_eq!(field(&fields, "response_format"), Some("json"));
    assert_eq!(part.filename.as_deref(), Some("interview.WAV"));
    assert_eq!(part.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(part.body.len(), wav.len());
    assert!(part.body == wav, "the file arrives byte for byte");
    let records = records.wait_for(1).await;
    assert_eq!(records[0].cost, usd("0.004"));
    assert_eq!(records[0].audio_duration, Duration::from_secs(40));

    // A name and type set by hand win over the path's.
    let server = RawServer::start(vec![Reply::json(200, br#"{"text":"ok"}"#.to_vec())]).await;
    let (client, _) = client_with(openai(whisper(), &server.url));
    let audio = Audio::from_path(&file.0)
        .filename("renamed.raw")
        .content_type("audio/x-wav");
    client.aspeech_to_text(audio, whisper()).await.unwrap();
    let (_, part) = form(&server.received()[0]);
    assert_eq!(part.filename.as_deref(), Some("renamed.raw"));
    assert_eq!(part.content_type.as_deref(), Some("audio/x-wav"));
    assert!(part.body == wav);
}

#[tokio::test]
async fn each_reply_format_is_decoded() {
    // verbose_json, recorded from whisper-1: 37 whole seconds billed.
    let server = RawServer::start(vec![verbose_reply()]).await;
    let (client, _) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![1u8; 64], "galileo.mp3"), whisper())
        .response_format(TranscriptionFormat::VerboseJson)
        .await
        .unwrap();
    assert_eq!(
        t.text,
        "Galileo was an American robotic space program that studied the planet Jupiter and its \
         moons, as well as several other solar system bodies."
    );
    assert_eq!(t.language.as_deref(), Some("english"));
    assert_eq!(t.duration, Some(Duration::from_millis(36_710)));
    assert!(t.segments.is_empty(), "word timestamps only");
    assert_eq!(
        t.usage,
        Usage::default().with_audio_duration(Duration::from_secs(37))
    );
    // 37 s at $0.006 a minute.
    assert_eq!(t.cost, usd("0.0037"));
    assert_eq!((t.catalog_model, t.provider), ("whisper-1", "openai"));
    let (_, file) = form(&server.received()[0]);
    assert_eq!(file.content_type.as_deref(), Some("audio/mpeg"));

    // text: the transcript as it comes, with no usage.
    let text = Reply::Pieces {
        status: 200,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        pieces: vec!["Bonjour à tous.\n".as_bytes().to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    };
    let server = RawServer::start(vec![text]).await;
    let (client, _) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(1500), "a.wav"), whisper())
        .response_format(TranscriptionFormat::Text)
        .await
        .unwrap();
    assert_eq!(t.text, "Bonjour à tous.");
    assert_eq!(t.language, None);
    // The WAV header prices it: 1.5 s at $0.006 a minute.
    assert_eq!(t.duration, Some(Duration::from_millis(1500)));
    assert_eq!(t.cost, usd("0.00015"));

    // text from an audio that is no WAV: nothing prices it.
    let server = RawServer::start(vec![Reply::json(200, b"Hi".to_vec())]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![0u8; 9], "a.ogg"), whisper())
        .response_format(TranscriptionFormat::Text)
        .await
        .unwrap();
    assert_eq!(
        (t.text.as_str(), t.duration, t.cost),
        ("Hi", None, Usd::ZERO)
    );
    assert!(records.wait_for(1).await[0].succeeded);

    // json without usage or duration (Azure), nor a WAV: zero, with the text.
    let server = RawServer::start(vec![Reply::json(200, br#"{"text":"Hi"}"#.to_vec())]).await;
    let (client, _) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![0u8; 9], "a.mp3"), whisper())
        .response_format(TranscriptionFormat::Json)
        .await
        .unwrap();
    assert_eq!((t.text.as_str(), t.cost), ("Hi", Usd::ZERO));
}

#[tokio::test]
async fn a_verbose_reply_without_usage_is_priced_per_minute_exactly() {
    // Azure's verbose JSON: a duration, segments, no usage. 90 s × $0.006.
    let body = serde_json::json!({
        "task": "transcribe", "language": "french", "duration": 90.0,
        "text": "Bonjour. Au revoir.",
        "segments": [
            {"id": 0, "seek": 0, "start": 0.0, "end": 44.52000045776367, "text": " Bonjour.",
             "tokens": [1], "temperature": 0.0, "avg_logprob": -0.2,
             "compression_ratio": 1.1, "no_speech_prob": 0.01},
            {"id": 1, "seek": 0, "start": 44.52000045776367, "end": 90.0, "text": " Au revoir.",
             "tokens": [2], "temperature": 0.0, "avg_logprob": -0.2,
             "compression_ratio": 1.1, "no_speech_prob": 0.01}
        ]
    });
    let server = RawServer::start(vec![Reply::json(200, body.to_string().into_bytes())]).await;
    let (client, records) = client_with(
        Deployment::new(whisper(), Provider::Azure)
            .deployment_name("whisper")
            .endpoint(&server.url)
            .api_key("azure-key"),
    );
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![7u8; 100], "réunion.m4a"), whisper())
        .language("fr")
        .await
        .unwrap();
    assert_eq!(t.cost, usd("0.009"));
    assert_eq!(t.usage.audio_duration, Duration::from_secs(90));
    assert_eq!(t.language.as_deref(), Some("french"));
    let spans: Vec<(u128, u128, &str)> = t
        .segments
        .iter()
        .map(|s| (s.start.as_millis(), s.end.as_millis(), s.text.as_str()))
        .collect();
    assert_eq!(
        spans,
        [(0, 44_520, " Bonjour."), (44_520, 90_000, " Au revoir.")]
    );
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].cost, usd("0.009"));
    assert_eq!(records[0].operation, "aspeech_to_text");
    assert_eq!(records[0].provider, "azure");
    // The seed's Azure deployment: its URL, version and key header.
    let request = &server.received()[0];
    assert_eq!(
        request.request_line,
        "POST /openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21 HTTP/1.1"
    );
    assert_eq!(request.header("api-key"), Some("azure-key"));
    let (fields, file) = form(request);
    // Azure: the deployment's name, as for chat (Azure reads the URL's).
    assert_eq!(field(&fields, "model"), Some("whisper"));
    assert_eq!(field(&fields, "response_format"), Some("verbose_json"));
    assert_eq!(file.filename.as_deref(), Some("réunion.m4a"));
    assert_eq!(file.content_type.as_deref(), Some("audio/mp4"));
}

#[tokio::test]
async fn gpt_4o_transcribe_is_priced_per_token() {
    let model = llmax::model!("gpt-4o-transcribe");
    let server = RawServer::start(vec![Reply::json(
        200,
        fixture("openai/openai-transcription-issue-14721-audio-mp4.json"),
    )])
    .await;
    let (client, records) = client_with(openai(model, &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(5000), "a.wav"), model)
        .await
        .unwrap();
    assert!(
        t.text
            .starts_with("Honestly, it was a pretty steep learning curve")
    );
    assert_eq!(t.usage, Usage::new(122, 47));
    // 122 audio tokens at $6 and 47 output tokens at $10 a million, and no
    // per-minute charge on top although the WAV says 5 s.
    assert_eq!(t.cost, Usd::from_picos(122 * 6_000_000 + 47 * 10_000_000));
    assert_eq!(t.cost, usd("0.001202"));
    assert_eq!(t.duration, Some(Duration::from_secs(5)));
    assert_eq!(records.wait_for(1).await[0].cost, usd("0.001202"));
    // JSON is asked of a token-priced model (it refuses verbose JSON).
    let (fields, _) = form(&server.received()[0]);
    assert_eq!(field(&fields, "response_format"), Some("json"));
    assert_eq!(field(&fields, "model"), Some("gpt-4o-transcribe"));

    // In text, no tokens come back: the per-minute estimate, from the WAV.
    let server = RawServer::start(vec![Reply::json(200, b"Hello\n".to_vec())]).await;
    let (client, _) = client_with(openai(model, &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(30_000), "a.wav"), model)
        .response_format(TranscriptionFormat::Text)
        .await
        .unwrap();
    assert_eq!(t.text, "Hello");
    assert_eq!(t.cost, usd("0.003"));
}

#[tokio::test]
async fn mistral_and_scaleway_transcribe_at_their_own_prices() {
    let voxtral = llmax::model!("voxtral-mini-transcribe");
    let server = RawServer::start(vec![Reply::json(
        200,
        fixture("mistral/mistral-transcription.json"),
    )])
    .await;
    let (client, records) = client_with(
        Deployment::new(voxtral, Provider::Mistral)
            .endpoint(format!("{}/v1", server.url))
            .api_key("mistral-key"),
    );
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![3u8; 10], "galileo.mp3"), voxtral)
        .language("en")
        .prompt("dropped: Mistral has no prompt")
        .await
        .unwrap();
    assert!(t.text.ends_with("the first spacecraft to orbit Jupiter."));
    assert_eq!(t.language, None);
    assert_eq!(t.segments.len(), 4);
    assert_eq!(t.segments[1].start, Duration::from_millis(9_100));
    assert_eq!(t.segments[3].end, Duration::from_millis(35_900));
    assert_eq!(
        t.usage,
        Usage::new(13, 151).with_audio_duration(Duration::from_secs(36))
    );
    // Billed seconds only: 36 s at $0.003 a minute.
    assert_eq!(t.cost, usd("0.0018"));
    assert_eq!(t.duration, Some(Duration::from_secs(36)));
    assert_eq!(records.wait_for(1).await[0].cost, usd("0.0018"));
    let request = &server.received()[0];
    assert_eq!(
        request.request_line,
        "POST /v1/audio/transcriptions HTTP/1.1"
    );
    assert_eq!(request.header("authorization"), Some("Bearer mistral-key"));
    let (fields, _) = form(request);
    assert_eq!(
        fields,
        [
            ("model".to_owned(), "voxtral-mini-latest".to_owned()),
            ("language".to_owned(), "en".to_owned())
        ]
    );

    let large = llmax::model!("scaleway/whisper-large-v3");
    let body = br#"{"text":"Salut","language":"fr","duration":60.0,"segments":[]}"#.to_vec();
    let server = RawServer::start(vec![Reply::json(200, body)]).await;
    let (client, _) = client_with(
        Deployment::new(large, Provider::Scaleway)
            .endpoint(&server.url)
            .api_key("scw-key"),
    );
    let t = client
        .aspeech_to_text(Audio::from_bytes(vec![0u8; 5], "a.flac"), large)
        .await
        .unwrap();
    assert_eq!(t.cost, usd("0.00345"));
    let request = &server.received()[0];
    assert_eq!(request.request_line, "POST /audio/transcriptions HTTP/1.1");
    let (fields, file) = form(request);
    assert_eq!(field(&fields, "model"), Some("whisper-large-v3"));
    assert_eq!(file.content_type.as_deref(), Some("audio/flac"));
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
async fn a_rate_limit_is_retried_after_retry_after_with_the_whole_file_resent() {
    let wav = tone_wav(20_000);
    let file = TempFile::new("retry.wav", &wav);
    let server = RawServer::start(vec![busy(), verbose_reply()]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let started = Instant::now();
    let t = client
        .aspeech_to_text(Audio::from_path(&file.0), whisper())
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
    assert_eq!(t.cost, usd("0.0037"));
    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        let (fields, part) = form(request);
        assert_eq!(field(&fields, "model"), Some("whisper-1"));
        assert!(part.body == wav, "each attempt sends the whole file");
    }
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].attempts, records[0].succeeded), (2, true));
    assert_eq!(records[0].cost, usd("0.0037"));

    // Out of tries: the rate limit, accounted once.
    let server = RawServer::start(vec![busy()]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let error = client
        .aspeech_to_text(Audio::from_bytes(wav, "a.wav"), whisper())
        .tries(2)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the rate limit, got {error:?}");
    };
    assert_eq!(error.kind, ProviderErrorKind::RateLimit);
    assert!(error.retry_after.is_some());
    assert_eq!(server.received().len(), 2);
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].attempts, records[0].succeeded), (2, false));
    assert_eq!(records[0].cost, Usd::ZERO);
}

#[tokio::test]
async fn server_errors_are_retried_and_a_bad_request_is_not() {
    let failing = |status| {
        Reply::json(
            status,
            br#"{"error":{"message":"boom","type":"server_error"}}"#.to_vec(),
        )
    };
    let server = RawServer::start(vec![failing(500), failing(503), verbose_reply()]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let t = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), whisper())
        .tries(3)
        .await
        .unwrap();
    assert!(!t.text.is_empty());
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 3);

    // The recorded "unsupported format" 400: no retry, the provider's words.
    let server = RawServer::start(vec![Reply::json(
        400,
        fixture("openai/openai-transcription-issue-14721-audio-wav-error.json"),
    )])
    .await;
    let model = llmax::model!("gpt-4o-transcribe");
    let (client, records) = client_with(openai(model, &server.url));
    let error = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), model)
        .tries(3)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the provider's error, got {error:?}");
    };
    assert_eq!(error.kind, ProviderErrorKind::BadRequest);
    assert_eq!(error.code.as_deref(), Some("unsupported_format"));
    assert_eq!(
        error.message,
        "This model does not support the format you provided."
    );
    assert_eq!(server.received().len(), 1);
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));
}

#[tokio::test]
async fn cut_and_garbled_bodies_fail_and_are_accounted_once() {
    // The connection closes 20 bytes into a declared 785-byte body.
    let body = fixture("openai/openai-transcription.json");
    let cut = Reply::Pieces {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("content-length".into(), body.len().to_string()),
        ],
        pieces: vec![body[..20].to_vec()],
        pause: Duration::ZERO,
        content_length: false,
    };
    let server = RawServer::start(vec![cut]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let error = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), whisper())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));

    // Whole but not JSON: a decode error naming the provider, not retried.
    let server = RawServer::start(vec![Reply::json(200, body[..20].to_vec())]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let error = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), whisper())
        .tries(3)
        .await
        .unwrap_err();
    match &error {
        Error::Decode { provider, .. } => assert_eq!(*provider, "openai"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(server.received().len(), 1);
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].succeeded), (1, false));
}

#[tokio::test]
async fn nothing_is_sent_for_a_spent_budget_a_missing_file_or_the_wrong_model() {
    let server = RawServer::start(vec![verbose_reply()]).await;
    let records = Recorder::default();
    let client = records
        .attach(
            MultiAIClient::builder()
                .deployment(openai(whisper(), &server.url))
                .deployment(openai(llmax::model!("gpt-4o"), &server.url))
                .budget(Usd::dollars(1))
                .get_usage(|| async { Some(Usd::dollars(2)) }),
        )
        .build()
        .unwrap();
    let error = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), whisper())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");

    let missing = std::env::temp_dir().join("llmax-no-such-audio.wav");
    let error = client
        .aspeech_to_text(Audio::from_path(&missing), whisper())
        .await
        .unwrap_err();
    match &error {
        Error::File { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected a file error, got {other:?}"),
    }

    let gpt4o = llmax::model!("gpt-4o");
    let error = client
        .aspeech_to_text(Audio::from_bytes(tone_wav(100), "a.wav"), gpt4o)
        .await
        .unwrap_err();
    match &error {
        Error::InvalidRequest { model, message } => {
            assert_eq!(*model, "gpt-4o");
            assert_eq!(
                message,
                "`gpt-4o` is a chat model; a speech-to-text call needs a transcription model"
            );
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }

    let error = client
        .aspeech_to_text(Audio::from_bytes(vec![0u8], "a.wav"), whisper())
        .temperature(f64::NAN)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    let error = client
        .aspeech_to_text(
            Audio::from_bytes(vec![0u8], "a.wav").content_type("not a type"),
            whisper(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received().is_empty(), "nothing was sent");
    assert!(records.all().is_empty(), "nothing was accounted");
}

#[tokio::test]
async fn a_file_removed_before_a_retry_fails_that_attempt() {
    let file = TempFile::new("vanishing.wav", &tone_wav(100));
    let path = file.0.clone();
    // The first attempt is refused; the file is gone before the second.
    let slow_busy = Reply::Pieces {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "0.3".into()),
        ],
        pieces: vec![br#"{"error":{"message":"slow down"}}"#.to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    };
    let server = RawServer::start(vec![slow_busy, verbose_reply()]).await;
    let (client, records) = client_with(openai(whisper(), &server.url));
    let call = client
        .aspeech_to_text(Audio::from_path(&path), whisper())
        .tries(2);
    let remove = async {
        while server.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(file);
    };
    let (result, ()) = tokio::join!(call, remove);
    match result.unwrap_err() {
        Error::File { path: named, .. } => assert_eq!(named, path),
        other => panic!("expected a file error, got {other:?}"),
    }
    assert_eq!(server.received().len(), 1);
    // The first attempt reached the provider: the call is accounted.
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].attempts), (1, 2));
}

#[tokio::test]
async fn the_mock_transcribes_without_a_key() {
    let whisper = whisper();
    let transcribe = llmax::model!("gpt-4o-transcribe");
    let client = MultiAIClient::new([
        Deployment::new(whisper, Provider::Mock),
        Deployment::new(transcribe, Provider::Mock),
    ])
    .unwrap();
    let wav = tone_wav(1000);
    // Verbose by default for whisper-1: the WAV's second, billed.
    let t = client
        .aspeech_to_text(Audio::from_bytes(wav.clone(), "hello.wav"), whisper)
        .language("fr")
        .await
        .unwrap();
    assert_eq!(t.text, "Mock transcription of hello.wav (32044 bytes).");
    assert_eq!(t.language.as_deref(), Some("fr"));
    assert_eq!(t.duration, Some(Duration::from_secs(1)));
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].end, Duration::from_secs(1));
    assert_eq!(t.cost, usd("0.0001"));

    let file = TempFile::new("mock.wav", &tone_wav(2500));
    for (format, text) in [
        (
            TranscriptionFormat::Text,
            "Mock transcription of mock.wav (80044 bytes).",
        ),
        (
            TranscriptionFormat::Json,
            "Mock transcription of mock.wav (80044 bytes).",
        ),
    ] {
        let t = client
            .aspeech_to_text(Audio::from_path(&file.0), whisper)
            .response_format(format)
            .await
            .unwrap();
        assert_eq!(t.text, text);
        // Billed in whole seconds (json) or from the header (text).
        let expected = match format {
            TranscriptionFormat::Json => usd("0.0003"),
            _ => usd("0.00025"),
        };
        assert_eq!(t.cost, expected, "{format:?}");
    }

    // gpt-4o-transcribe counts tokens: 10 audio tokens a second, the text
    // at four characters a token.
    let t = client
        .aspeech_to_text(Audio::from_bytes(wav, "hello.wav"), transcribe)
        .await
        .unwrap();
    assert_eq!(t.usage, Usage::new(10, 12));
    assert_eq!(t.cost, usd("0.00018"));
    // ...and refuses verbose JSON, as OpenAI does.
    let error = client
        .aspeech_to_text(Audio::from_bytes(vec![0u8; 10], "a.mp3"), transcribe)
        .response_format(TranscriptionFormat::VerboseJson)
        .await
        .unwrap_err();
    let Error::Provider(error) = error else {
        panic!("expected the mock's refusal, got {error:?}");
    };
    assert_eq!(error.status, 400);
}

#[test]
fn the_blocking_twins_transcribe_outside_a_runtime() {
    let client = MultiAIClient::new([Deployment::new(whisper(), Provider::Mock)]).unwrap();
    let t = client
        .speech_to_text(Audio::from_bytes(tone_wav(1000), "a.wav"), whisper())
        .unwrap();
    assert_eq!(t.text, "Mock transcription of a.wav (32044 bytes).");
    let options = TranscriptionOptions::new()
        .response_format(TranscriptionFormat::Text)
        .operation("dictation");
    let t = client
        .speech_to_text_with(
            Audio::from_bytes(tone_wav(1000), "a.wav"),
            whisper(),
            options,
        )
        .unwrap();
    assert_eq!(t.cost, usd("0.0001"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime.block_on(async {
        client
            .speech_to_text(Audio::from_bytes(vec![0u8], "a.wav"), whisper())
            .unwrap_err()
    });
    assert!(
        matches!(error, Error::BlockingInRuntime("speech_to_text")),
        "{error:?}"
    );
}
