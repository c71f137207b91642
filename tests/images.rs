//! Image generation through the public API: the request on the wire
//! (OpenAI and Azure), OpenAI's documented reply decoded to bytes intact,
//! URL replies, exact costs per token and per image, the fault matrix, calls
//! refused before sending, and the mock provider.

use std::time::Duration;

use base64::Engine as _;
use llmax::{Deployment, Error, ImageResponse, Model, MultiAIClient, Provider, Usd};
use llmax_tests::{RawServer, Recorder, Reply, client_with};
use serde_json::json;

const GPT_IMAGE: Model = llmax::model!("gpt-image-1");
const DALLE: Model = llmax::model!("dall-e-3");

/// A 2x1 grey PNG, encoded here (stored zlib block, CRCs by hand) so the
/// test knows every byte the client must hand back.
fn png() -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    let raw = [0u8, 0x80, 0x80]; // filter 0, two grey pixels
    let adler = {
        let (mut a, mut b) = (1u32, 0u32);
        for byte in raw {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    };
    let mut zlib = vec![0x78, 0x01, 0x01, 3, 0, !3, 0xff];
    zlib.extend(raw);
    zlib.extend(adler.to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// OpenAI's documented `ImagesResponse` example (openai.llm.json), with
/// real base64 where the spec writes "...".
fn documented() -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(png());
    serde_json::to_vec(&json!({
        "created": 1713833628,
        "data": [{"b64_json": b64}],
        "background": "transparent",
        "output_format": "png",
        "size": "1024x1024",
        "quality": "high",
        "usage": {
            "total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
            "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}
        }
    }))
    .unwrap()
}

fn openai(model: Model, endpoint: &str) -> Deployment {
    Deployment::new(model, Provider::OpenAi)
        .endpoint(endpoint)
        .api_key("sk-test")
}

#[tokio::test]
async fn the_documented_reply_gives_the_bytes_intact_and_the_token_cost() {
    let server = RawServer::start(vec![Reply::json(200, documented())]).await;
    let (client, records) = client_with(openai(GPT_IMAGE, &server.url));
    let i = client
        .atext_to_image("A cute baby sea otter", GPT_IMAGE)
        .size("1024x1024")
        .count(1)
        .format(llmax::ImageFormat::Png)
        .await
        .unwrap();
    assert_eq!(i.images[0].bytes.as_deref(), Some(&png()[..]));
    assert_eq!(i.usage, llmax::Usage::new(50, 50));
    // 50 text tokens at $5/M + 50 image tokens at $40/M = $0.00225.
    assert_eq!(i.cost, "0.00225".parse::<Usd>().unwrap());
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0]
            .request_line
            .starts_with("POST /images/generations ")
    );
    assert_eq!(
        received[0].json(),
        json!({"model": "gpt-image-1", "prompt": "A cute baby sea otter", "n": 1,
               "size": "1024x1024", "output_format": "png"})
    );
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].cost, i.cost);
    assert_eq!(records[0].operation, "atext_to_image");
}

#[tokio::test]
async fn dall_e_is_priced_per_image_by_size_quality_and_count() {
    for (size, quality, n, dollars) in [
        ("1024x1024", "standard", 1, "0.04"),
        ("1024x1024", "hd", 3, "0.24"),
        ("1792x1024", "hd", 2, "0.24"),
        ("1024x1792", "standard", 2, "0.16"),
    ] {
        let data: Vec<_> = (0..n)
            .map(|_| json!({"url": "https://example.com/i.png", "revised_prompt": "a lighthouse"}))
            .collect();
        let body = serde_json::to_vec(&json!({"created": 1, "data": data})).unwrap();
        let server = RawServer::start(vec![Reply::json(200, body)]).await;
        let (client, records) = client_with(openai(DALLE, &server.url));
        let i = client
            .atext_to_image("a lighthouse", DALLE)
            .size(size)
            .quality(quality)
            .count(n)
            .response(ImageResponse::Url)
            .await
            .unwrap();
        assert_eq!(i.images.len(), n as usize);
        assert_eq!(
            i.images[0].url.as_deref(),
            Some("https://example.com/i.png")
        );
        assert_eq!(i.images[0].revised_prompt.as_deref(), Some("a lighthouse"));
        assert_eq!(
            i.cost,
            dollars.parse::<Usd>().unwrap(),
            "{size} {quality} x{n}"
        );
        assert_eq!(i.usage.images, u64::from(n));
        let record = &records.wait_for(1).await[0];
        assert_eq!(record.cost, i.cost);
        assert_eq!(record.images, u64::from(n));
        assert_eq!(server.received()[0].json()["response_format"], "url");
    }
}

#[tokio::test]
async fn azure_takes_the_deployment_url() {
    let server = RawServer::start(vec![Reply::json(200, documented())]).await;
    let (client, _records) = client_with(
        Deployment::new(GPT_IMAGE, Provider::Azure)
            .endpoint(&server.url)
            .deployment_name("painter")
            .api_key("azure-key"),
    );
    client.atext_to_image("otter", GPT_IMAGE).await.unwrap();
    let request = &server.received()[0];
    assert!(
        request
            .request_line
            .starts_with("POST /openai/deployments/painter/images/generations?api-version="),
        "{}",
        request.request_line
    );
    assert_eq!(request.header("api-key"), Some("azure-key"));
}

#[tokio::test]
async fn faults_retry_and_are_accounted_once() {
    let busy = Reply::Pieces {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after-ms".into(), "20".into()),
        ],
        pieces: vec![br#"{"error":{"message":"slow down","type":"rate_limit"}}"#.to_vec()],
        pause: Duration::ZERO,
        content_length: true,
    };
    let server = RawServer::start(vec![busy, Reply::json(200, documented())]).await;
    let (client, records) = client_with(openai(GPT_IMAGE, &server.url));
    client
        .atext_to_image("otter", GPT_IMAGE)
        .tries(2)
        .await
        .unwrap();
    let records = records.wait_for(1).await;
    assert_eq!((records.len(), records[0].attempts), (1, 2));

    let server = RawServer::start(vec![Reply::json(500, b"{}".to_vec())]).await;
    let (client, records) = client_with(openai(GPT_IMAGE, &server.url));
    let error = client.atext_to_image("otter", GPT_IMAGE).await.unwrap_err();
    assert!(
        matches!(error, Error::Provider(ref e) if e.status == 500),
        "{error:?}"
    );
    assert_eq!(records.wait_for(1).await.len(), 1);

    let body = documented();
    let server = RawServer::start(vec![Reply::Pieces {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        pieces: vec![body[..body.len() / 2].to_vec()],
        pause: Duration::ZERO,
        content_length: false,
    }])
    .await;
    let (client, records) = client_with(openai(GPT_IMAGE, &server.url));
    let error = client.atext_to_image("otter", GPT_IMAGE).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    let records = records.wait_for(1).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].succeeded);
}

#[tokio::test]
async fn refused_calls_send_nothing() {
    let server = RawServer::start(vec![Reply::json(200, documented())]).await;
    let records = Recorder::default();
    let client = records
        .attach(
            MultiAIClient::builder()
                .deployment(openai(GPT_IMAGE, &server.url))
                .deployment(openai(llmax::model!("gpt-4o"), &server.url))
                .get_usage(|| async { Some(Usd::dollars(2)) })
                .budget(Usd::dollars(1)),
        )
        .build()
        .unwrap();
    let error = client.atext_to_image("otter", GPT_IMAGE).await.unwrap_err();
    assert!(matches!(error, Error::Budget { .. }), "{error:?}");
    for count in [0, 11] {
        let error = client
            .atext_to_image("otter", GPT_IMAGE)
            .count(count)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    }
    let error = client
        .atext_to_image("otter", llmax::model!("gpt-4o"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    let error = client
        .ainvoke(&[llmax::Message::user("hi")], GPT_IMAGE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received().is_empty());
    assert!(records.all().is_empty());
}

#[tokio::test]
async fn the_mock_draws_a_png_with_no_key() {
    let client = MultiAIClient::new([
        Deployment::new(GPT_IMAGE, Provider::Mock),
        Deployment::new(DALLE, Provider::Mock),
    ])
    .unwrap();
    let i = client
        .atext_to_image("a lighthouse at dawn", GPT_IMAGE)
        .count(2)
        .await
        .unwrap();
    assert_eq!(i.images.len(), 2);
    let bytes = i.images[0].bytes.as_deref().unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
    assert!(bytes.ends_with(b"IEND\xae\x42\x60\x82"));
    assert!(i.usage.output_tokens > 0 && i.cost > Usd::ZERO);
    let d = client
        .atext_to_image("a lighthouse", DALLE)
        .response(ImageResponse::Url)
        .await
        .unwrap();
    assert!(d.images[0].url.is_some());
    // No size nor quality given: priced at the dearest entry, so a budget
    // never under-counts.
    assert_eq!(d.cost, "0.12".parse::<Usd>().unwrap());
}
