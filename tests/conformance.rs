//! Conformance: every request shape llmax builds, sent by the real client to
//! Prism mocks of the providers' official OpenAPI specs (`tests/specs`,
//! served by `tests/conformance/prism-up.sh`), must be accepted; a
//! deliberately invalid one must be rejected, which proves the validation is
//! live.
//!
//! `.ci/run` starts the mocks and sets `LLMAX_CONFORMANCE=1`; without it
//! these tests say so and pass, since they need Node.js and the mocks.
//! Ports: 4010 OpenAI, 4011 Mistral, 4012 Anthropic, 4013 Gemini, 4014
//! OpenAI strict and 4015 Gemini strict (unknown top-level fields
//! rejected). Chat requests are checked against each spec, and
//! embeddings requests against OpenAI's and Mistral's; speech-to-text,
//! text-to-speech and image requests against OpenAI's (and Mistral's for
//! speech to text).

use futures_util::StreamExt;
use llmax::{
    CallOptions, ContentPart, Deployment, EmbeddingEncoding, EmbeddingOptions, Message, Model,
    MultiAIClient, Provider, ResponseFormat, SpeechFormat, SpeechOptions, Tool, ToolCall,
    ToolChoice,
};
use llmax_tests::{Verdict, VerdictProxy};
use serde_json::json;

fn enabled() -> bool {
    let on = std::env::var("LLMAX_CONFORMANCE").is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "conformance skipped: set LLMAX_CONFORMANCE=1 with the Prism mocks up (see .ci/run)"
        );
    }
    on
}

/// A tiny valid PNG as a data URL.
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Request shapes: (name, messages, options). Each goes out plain and streamed.
fn shapes(vision: bool) -> Vec<(&'static str, Vec<Message>, CallOptions)> {
    let mut shapes = vec![
        ("plain", vec![Message::user("Hi")], CallOptions::new()),
        (
            "system option and system message",
            vec![Message::system("Be brief."), Message::user("Hi")],
            CallOptions::new().system("You are helpful."),
        ),
        (
            "conversation with a tool round trip",
            vec![
                Message::user("Weather in Paris?"),
                Message::assistant_tool_calls([ToolCall::function(
                    "c1",
                    "weather",
                    r#"{"city":"Paris"}"#,
                )]),
                Message::tool("c1", r#"{"celsius": 21}"#),
                Message::assistant("21 degrees."),
                Message::user("Thanks"),
            ],
            CallOptions::new().tools([Tool {
                name: "weather".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: false,
            }]),
        ),
        (
            "all options",
            vec![Message::user("Hi")],
            CallOptions::new()
                .temperature(0.7)
                .max_tokens(500)
                .top_p(0.9)
                .stop(["\n\n", "END"])
                .seed(42)
                .response_format(ResponseFormat::JsonObject),
        ),
        (
            "json schema response format",
            vec![Message::user("Hi")],
            CallOptions::new().response_format(
                ResponseFormat::json_schema(
                    "answer",
                    json!({
                        "type": "object", "properties": {"a": {"type": "string"}},
                        "required": ["a"], "additionalProperties": false
                    }),
                )
                .strict(true),
            ),
        ),
    ];
    if vision {
        shapes.push((
            "image parts",
            vec![Message::user_parts([
                ContentPart::text("What is this?"),
                ContentPart::image_url("https://example.com/cat.png"),
                ContentPart::image_url(PNG),
            ])],
            CallOptions::new(),
        ));
    }
    shapes
}

async fn send_all(client: &MultiAIClient, model: Model, vision: bool) {
    for (name, messages, options) in shapes(vision) {
        let _ = client
            .ainvoke(&messages, model)
            .options(options.clone())
            .await;
        // Prism never streams, but it validates the streamed request.
        if let Ok(mut stream) = client.astream(&messages, model).options(options).await {
            while stream.next().await.is_some() {}
        }
        let _ = name;
    }
}

fn assert_all_accepted(verdicts: &[Verdict], expected: usize, spec: &str) {
    assert_eq!(
        verdicts.len(),
        expected,
        "{spec}: every request reached the mock"
    );
    let rejected: Vec<&Verdict> = verdicts.iter().filter(|v| !v.accepted()).collect();
    assert!(rejected.is_empty(), "{spec} rejected:\n{rejected:#?}");
}

async fn invalid_is_rejected(client: &MultiAIClient, proxy: &VerdictProxy, model: Model) {
    let _ = client
        .ainvoke(&[Message::user("Hi")], model)
        .extra("temperature", "hot")
        .await;
    let verdicts = proxy.take();
    assert_eq!(verdicts.len(), 1);
    assert!(
        !verdicts[0].accepted(),
        "a string temperature must be rejected: {verdicts:?}"
    );
}

#[tokio::test]
async fn openai_requests_conform_to_the_openai_spec() {
    if !enabled() {
        return;
    }
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([
            Deployment::new(Model::Gpt4o, Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
            Deployment::new(
                Model::ScalewayQwen3_235bA22bInstruct2507,
                Provider::Scaleway,
            )
            .endpoint(&proxy.url)
            .api_key("scw-test"),
        ])
        .unwrap();
        send_all(&client, Model::Gpt4o, true).await;
        let count = shapes(true).len() * 2;
        assert_all_accepted(&proxy.take(), count, spec);
        // The Qwen quirk (json_object rewritten to json_schema) is valid too.
        send_all(&client, Model::ScalewayQwen3_235bA22bInstruct2507, true).await;
        assert_all_accepted(&proxy.take(), count, spec);
        invalid_is_rejected(&client, &proxy, Model::Gpt4o).await;
    }
}

#[tokio::test]
async fn mistral_requests_conform_to_the_mistral_spec() {
    if !enabled() {
        return;
    }
    let proxy = VerdictProxy::start("http://127.0.0.1:4011").await;
    let client = MultiAIClient::new([Deployment::new(Model::MistralSmall, Provider::Mistral)
        .endpoint(format!("{}/v1", proxy.url))
        .api_key("test")])
    .unwrap();
    // Mistral's quirks: max_tokens, random_seed, no stream_options.
    send_all(&client, Model::MistralSmall, true).await;
    let verdicts = proxy.take();
    assert_all_accepted(&verdicts, shapes(true).len() * 2, "mistral.json");
    assert!(
        verdicts
            .iter()
            .any(|v| v.body.contains("\"random_seed\":42"))
    );
    assert!(verdicts.iter().all(|v| !v.body.contains("stream_options")));
    invalid_is_rejected(&client, &proxy, Model::MistralSmall).await;
}

#[tokio::test]
async fn anthropic_requests_conform_to_the_anthropic_spec() {
    if !enabled() {
        return;
    }
    let proxy = VerdictProxy::start("http://127.0.0.1:4012").await;
    let client = MultiAIClient::new(
        [Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
            .endpoint(&proxy.url)
            .api_key("sk-ant-test")],
    )
    .unwrap();
    let mut cases = shapes(true);
    cases.push((
        "caller-placed cache breakpoints",
        vec![
            Message::user("A long document"),
            Message::assistant("Read."),
            Message::user("Summarise."),
        ],
        CallOptions::new()
            .system("S")
            .prompt_cache(llmax::PromptCache::At(vec![
                llmax::CacheBreakpoint::System,
                llmax::CacheBreakpoint::Message(0),
            ])),
    ));
    cases.push((
        "tool choice and no parallel calls",
        vec![Message::user("Weather in Paris?")],
        CallOptions::new()
            .tools([Tool::new(
                "weather",
                "Weather",
                json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            )])
            .tool_choice(ToolChoice::Named("weather".into()))
            .parallel_tool_calls(false)
            .extra("user", "user-42"),
    ));
    let count = cases.len() * 2;
    for (_, messages, options) in cases {
        let _ = client
            .ainvoke(&messages, Model::Claude4_5Sonnet)
            .options(options.clone())
            .await;
        if let Ok(mut stream) = client
            .astream(&messages, Model::Claude4_5Sonnet)
            .options(options)
            .await
        {
            while stream.next().await.is_some() {}
        }
    }
    let verdicts = proxy.take();
    assert_all_accepted(&verdicts, count, "anthropic.json");
    assert!(verdicts.iter().any(|v| v.body.contains("cache_control")));
    invalid_is_rejected(&client, &proxy, Model::Claude4_5Sonnet).await;
}

#[tokio::test]
async fn gemini_requests_conform_to_the_gemini_spec() {
    if !enabled() {
        return;
    }
    let model = Model::Gemini3ProPreview;
    let embedder = Model::GeminiEmbedding001;
    for (port, spec) in [(4013, "gemini.json"), (4015, "gemini.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([
            Deployment::new(model, Provider::Gemini)
                .endpoint(format!("{}/v1beta", proxy.url))
                .api_key("g-test"),
            Deployment::new(embedder, Provider::Gemini)
                .endpoint(format!("{}/v1beta", proxy.url))
                .api_key("g-test"),
        ])
        .unwrap();
        let mut cases = shapes(true);
        cases.push((
            "signed tool calls, tool choice, thinking and audio",
            vec![
                Message::user_parts([
                    ContentPart::text("Weather here?"),
                    ContentPart::input_audio("UklGRg==", "wav"),
                    ContentPart::image_url("gs://bucket/map.png"),
                ]),
                Message::assistant_tool_calls([ToolCall::function(
                    "llmax-call-0",
                    "weather",
                    r#"{"city":"Paris"}"#,
                )
                .with_thought_signature("c2lnbmF0dXJl")]),
                Message::tool("llmax-call-0", "sunny"),
            ],
            CallOptions::new()
                .tools([Tool::new(
                    "weather",
                    "Weather",
                    json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                )])
                .tool_choice(ToolChoice::Named("weather".into()))
                .thinking(llmax::Thinking::Level(llmax::ThinkingLevel::High)),
        ));
        cases.push((
            "thinking budget and tool choice modes",
            vec![Message::user("Hi")],
            CallOptions::new()
                .tools([Tool::new("f", "F", json!({"type": "object"}))])
                .tool_choice(ToolChoice::Required)
                .thinking(llmax::Thinking::Budget(512)),
        ));
        let count = cases.len() * 2;
        for (_, messages, options) in cases {
            let _ = client
                .ainvoke(&messages, model)
                .options(options.clone())
                .await;
            if let Ok(mut stream) = client.astream(&messages, model).options(options).await {
                while stream.next().await.is_some() {}
            }
        }
        let verdicts = proxy.take();
        assert_all_accepted(&verdicts, count, spec);
        assert!(verdicts.iter().any(|v| v.body.contains("thoughtSignature")));
        let sent = send_embeddings(&client, embedder).await;
        assert_all_accepted(&proxy.take(), sent, spec);
        // A string temperature is refused by the spec.
        let _ = client
            .ainvoke(&[Message::user("Hi")], model)
            .extra("generationConfig", json!({"temperature": "hot"}))
            .await;
        let verdicts = proxy.take();
        assert_eq!(verdicts.len(), 1);
        assert!(
            !verdicts[0].accepted(),
            "a string temperature must be rejected: {verdicts:?}"
        );
    }
}

/// A 16 kHz, 16-bit mono WAV of `samples` zero samples.
fn wav(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    for value in [16u32, 0x0001_0001, 16_000, 32_000, 0x0010_0002] {
        wav.extend_from_slice(&value.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(44 + data as usize, 0);
    wav
}

/// Speech-to-text request shapes: (audio, options).
fn transcription_shapes(
    path: &std::path::Path,
) -> Vec<(llmax::Audio, llmax::TranscriptionOptions)> {
    use llmax::{Audio, TranscriptionFormat, TranscriptionOptions};
    let audio = || Audio::from_bytes(wav(16_000), "hello.wav");
    let mut shapes = vec![
        (audio(), TranscriptionOptions::new()),
        (Audio::from_path(path), TranscriptionOptions::new()),
        (
            audio(),
            TranscriptionOptions::new()
                .language("fr")
                .prompt("Bonjour, « café ».")
                .temperature(0.2),
        ),
        (
            Audio::from_bytes(vec![0u8; 64], "voice.mp3"),
            TranscriptionOptions::new()
                .extra("timestamp_granularities", json!(["word", "segment"])),
        ),
    ];
    for format in [
        TranscriptionFormat::Text,
        TranscriptionFormat::Json,
        TranscriptionFormat::VerboseJson,
    ] {
        shapes.push((audio(), TranscriptionOptions::new().response_format(format)));
    }
    shapes
}

#[tokio::test]
async fn transcription_uploads_conform_to_the_openai_spec() {
    if !enabled() {
        return;
    }
    let file = std::env::temp_dir().join(format!("llmax-conformance-{}.wav", std::process::id()));
    std::fs::write(&file, wav(8_000)).unwrap();
    let models = [
        llmax::model!("whisper-1"),
        llmax::model!("gpt-4o-transcribe"),
        llmax::model!("scaleway/whisper-large-v3"),
    ];
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([
            Deployment::new(models[0], Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
            Deployment::new(models[1], Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
            Deployment::new(models[2], Provider::Scaleway)
                .endpoint(&proxy.url)
                .api_key("scw-test"),
        ])
        .unwrap();
        for model in models {
            for (audio, options) in transcription_shapes(&file) {
                let _ = client.aspeech_to_text(audio, model).options(options).await;
            }
        }
        let verdicts = proxy.take();
        let count = models.len() * transcription_shapes(&file).len();
        assert_all_accepted(&verdicts, count, spec);
        assert!(verdicts.iter().all(|v| v.body.contains("name=\"file\"")));
        // Prism validates multipart fields: a string temperature is refused.
        let _ = client
            .aspeech_to_text(llmax::Audio::from_bytes(wav(100), "a.wav"), models[0])
            .extra("temperature", "hot")
            .await;
        let verdicts = proxy.take();
        assert_eq!(verdicts.len(), 1);
        assert!(
            !verdicts[0].accepted(),
            "a string temperature must be rejected: {verdicts:?}"
        );
    }
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn transcription_uploads_conform_to_the_mistral_spec() {
    if !enabled() {
        return;
    }
    let file = std::env::temp_dir().join(format!("llmax-conformance-m-{}.wav", std::process::id()));
    std::fs::write(&file, wav(8_000)).unwrap();
    let model = llmax::model!("voxtral-mini-transcribe");
    let proxy = VerdictProxy::start("http://127.0.0.1:4011").await;
    let client = MultiAIClient::new([Deployment::new(model, Provider::Mistral)
        .endpoint(format!("{}/v1", proxy.url))
        .api_key("test")])
    .unwrap();
    for (audio, options) in transcription_shapes(&file) {
        let _ = client.aspeech_to_text(audio, model).options(options).await;
    }
    let verdicts = proxy.take();
    assert_all_accepted(&verdicts, transcription_shapes(&file).len(), "mistral.json");
    // The manifest drops the fields Mistral's form does not have.
    assert!(verdicts.iter().all(
        |v| !v.body.contains("name=\"prompt\"") && !v.body.contains("name=\"response_format\"")
    ));
    // Mistral's language is a two-letter code.
    let _ = client
        .aspeech_to_text(llmax::Audio::from_bytes(wav(100), "a.wav"), model)
        .language("english")
        .await;
    let verdicts = proxy.take();
    assert_eq!(verdicts.len(), 1);
    assert!(
        !verdicts[0].accepted(),
        "a language name must be rejected: {verdicts:?}"
    );
    let _ = std::fs::remove_file(&file);
}

/// Embeddings request shapes: (name, options). Each goes out with one input
/// and with several.
fn embedding_shapes() -> Vec<(&'static str, EmbeddingOptions)> {
    vec![
        ("plain", EmbeddingOptions::new()),
        ("dimensions", EmbeddingOptions::new().dimensions(256)),
        (
            "float encoding",
            EmbeddingOptions::new().encoding(EmbeddingEncoding::Float),
        ),
        (
            "base64 encoding and dimensions",
            EmbeddingOptions::new()
                .encoding(EmbeddingEncoding::Base64)
                .dimensions(512),
        ),
    ]
}

const EMBEDDING_INPUTS: [&[&str]; 2] = [
    &["The quick brown fox"],
    &[
        "Embed this sentence.",
        "As well as this one.",
        "And a third.",
    ],
];

/// Sends every embeddings shape; returns how many requests went out. The
/// mocks' placeholder replies need not decode: only the requests are judged.
async fn send_embeddings(client: &MultiAIClient, model: Model) -> usize {
    let mut sent = 0;
    for (_, options) in embedding_shapes() {
        for inputs in EMBEDDING_INPUTS {
            let _ = client.aembed(inputs, model).options(options.clone()).await;
            sent += 1;
        }
    }
    sent
}

async fn invalid_embedding_is_rejected(client: &MultiAIClient, proxy: &VerdictProxy, model: Model) {
    let _ = client
        .aembed(&["Hi"], model)
        .extra("encoding_format", "hex")
        .await;
    let verdicts = proxy.take();
    assert_eq!(verdicts.len(), 1);
    assert!(
        !verdicts[0].accepted(),
        "an unknown encoding_format must be rejected: {verdicts:?}"
    );
}

#[tokio::test]
async fn embeddings_requests_conform_to_the_openai_spec() {
    if !enabled() {
        return;
    }
    let small = llmax::model!("text-embedding-3-small");
    let scaleway = llmax::model!("scaleway/bge-multilingual-gemma2");
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([
            Deployment::new(small, Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
            Deployment::new(scaleway, Provider::Scaleway)
                .endpoint(&proxy.url)
                .api_key("scw-test"),
        ])
        .unwrap();
        for model in [small, scaleway] {
            let count = send_embeddings(&client, model).await;
            let verdicts = proxy.take();
            assert_all_accepted(&verdicts, count, spec);
            assert!(
                verdicts
                    .iter()
                    .all(|v| v.request_line.starts_with("POST /embeddings "))
            );
        }
        invalid_embedding_is_rejected(&client, &proxy, small).await;
    }
}

#[tokio::test]
async fn embeddings_requests_conform_to_the_mistral_spec() {
    if !enabled() {
        return;
    }
    let model = llmax::model!("mistral-embed");
    let proxy = VerdictProxy::start("http://127.0.0.1:4011").await;
    let client = MultiAIClient::new([Deployment::new(model, Provider::Mistral)
        .endpoint(format!("{}/v1", proxy.url))
        .api_key("test")])
    .unwrap();
    let count = send_embeddings(&client, model).await;
    let verdicts = proxy.take();
    assert_all_accepted(&verdicts, count, "mistral.json");
    assert!(
        verdicts
            .iter()
            .all(|v| v.request_line.starts_with("POST /v1/embeddings "))
    );
    // Mistral's name for the dimensions.
    assert!(
        verdicts
            .iter()
            .any(|v| v.body.contains("\"output_dimension\":256"))
    );
    assert!(verdicts.iter().all(|v| !v.body.contains("\"dimensions\"")));
    invalid_embedding_is_rejected(&client, &proxy, model).await;
}

/// Image-generation request shapes, per model: (model, options).
fn image_shapes() -> Vec<(Model, llmax::ImageOptions)> {
    use llmax::{ImageFormat, ImageOptions, ImageResponse};
    let gpt_image = llmax::model!("gpt-image-1");
    let dalle = llmax::model!("dall-e-3");
    vec![
        (gpt_image, ImageOptions::new()),
        (
            gpt_image,
            ImageOptions::new()
                .size("1024x1536")
                .quality("high")
                .count(2)
                .format(ImageFormat::Jpeg),
        ),
        (
            gpt_image,
            ImageOptions::new()
                .size("1024x1024")
                .quality("low")
                .format(ImageFormat::Webp),
        ),
        (dalle, ImageOptions::new()),
        (
            dalle,
            ImageOptions::new()
                .size("1024x1792")
                .quality("hd")
                .response(ImageResponse::Url),
        ),
        (
            dalle,
            ImageOptions::new()
                .size("1024x1024")
                .quality("standard")
                .response(ImageResponse::Bytes),
        ),
    ]
}

#[tokio::test]
async fn image_requests_conform_to_the_openai_spec() {
    if !enabled() {
        return;
    }
    let gpt_image = llmax::model!("gpt-image-1");
    let dalle = llmax::model!("dall-e-3");
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let client = MultiAIClient::new([
            Deployment::new(gpt_image, Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
            Deployment::new(dalle, Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test"),
        ])
        .unwrap();
        let shapes = image_shapes();
        for (model, options) in &shapes {
            let _ = client
                .atext_to_image("a lighthouse at dawn", *model)
                .options(options.clone())
                .await;
        }
        let verdicts = proxy.take();
        assert_all_accepted(&verdicts, shapes.len(), spec);
        assert!(
            verdicts
                .iter()
                .all(|v| v.request_line.starts_with("POST /images/generations "))
        );

        // The mock validates these fields: an unknown quality is refused.
        let _ = client
            .atext_to_image("a lighthouse", gpt_image)
            .extra("quality", "ultra")
            .await;
        let verdicts = proxy.take();
        assert_eq!(verdicts.len(), 1);
        assert!(
            !verdicts[0].accepted(),
            "{spec} must refuse an unknown quality: {verdicts:?}"
        );
    }
}

/// Text-to-speech request shapes: (name, model, options). Each goes out
/// whole and streamed (the same request).
fn speech_shapes() -> Vec<(&'static str, Model, SpeechOptions)> {
    let tts = llmax::model!("tts-1");
    let hd = llmax::model!("tts-1-hd");
    let mini = llmax::model!("gpt-4o-mini-tts");
    let mut shapes = vec![("defaults", tts, SpeechOptions::new())];
    for format in [
        SpeechFormat::Mp3,
        SpeechFormat::Opus,
        SpeechFormat::Aac,
        SpeechFormat::Flac,
        SpeechFormat::Wav,
        SpeechFormat::Pcm,
    ] {
        shapes.push(("format", hd, SpeechOptions::new().format(format)));
    }
    shapes.push((
        "every option",
        mini,
        SpeechOptions::new()
            .voice("coral")
            .format(SpeechFormat::Wav)
            .speed(0.25)
            .instructions("Warm and calm."),
    ));
    shapes.push((
        "fastest",
        tts,
        SpeechOptions::new().voice("nova").speed(4.0),
    ));
    shapes
}

#[tokio::test]
async fn speech_requests_conform_to_the_openai_spec() {
    if !enabled() {
        return;
    }
    for (port, spec) in [(4010, "openai.llm.json"), (4014, "openai.llm.strict.json")] {
        let proxy = VerdictProxy::start(&format!("http://127.0.0.1:{port}")).await;
        let models = [
            llmax::model!("tts-1"),
            llmax::model!("tts-1-hd"),
            llmax::model!("gpt-4o-mini-tts"),
        ];
        let client = MultiAIClient::new(models.map(|model| {
            Deployment::new(model, Provider::OpenAi)
                .endpoint(&proxy.url)
                .api_key("sk-test")
        }))
        .unwrap();
        let mut sent = 0;
        for (_, model, options) in speech_shapes() {
            // The mocks' placeholder audio need not be real: only the
            // requests are judged.
            let _ = client
                .atext_to_speech("Bonjour, « café » crème.", model)
                .options(options.clone())
                .await;
            if let Ok(stream) = client
                .atext_to_speech("Bonjour", model)
                .options(options)
                .stream()
                .await
            {
                let _ = stream.collect_bytes().await;
            }
            sent += 2;
        }
        let verdicts = proxy.take();
        assert_all_accepted(&verdicts, sent, spec);
        assert!(
            verdicts
                .iter()
                .all(|v| v.request_line.starts_with("POST /audio/speech "))
        );

        // Speed as a string: the spec wants a number.
        let _ = client
            .atext_to_speech("Hi", llmax::model!("tts-1"))
            .extra("speed", "fast")
            .await;
        let verdicts = proxy.take();
        assert_eq!(verdicts.len(), 1);
        assert!(
            !verdicts[0].accepted(),
            "speed as a string must be rejected: {verdicts:?}"
        );
    }
}
