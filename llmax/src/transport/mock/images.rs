//! The mock provider's `POST /images/generations`, answered as OpenAI would:
//! `n` copies of one valid 1x1 PNG (an orange pixel) as base64, or URLs
//! when `response_format` is `url`; `usage` for gpt-image-* models, none for
//! dall-e-*, whose replies count no tokens.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{error, ok, tokens};
use crate::transport::{Reply, Request as Sent, RequestBody};

/// A 1x1 RGB PNG: signature, IHDR, one zlib IDAT, IEND, each chunk with its
/// CRC (made once with Python's `zlib`, and checked by the tests).
pub(crate) const PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xbf, 0x94, 0x01,
    0x00, 0x04, 0x4b, 0x01, 0xa5, 0x3f, 0x0e, 0x7a, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

#[derive(Deserialize)]
struct Request {
    model: String,
    prompt: String,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    response_format: Option<String>,
}

/// Answers one image generation request.
pub(super) fn answer(sent: &Sent<'_>) -> Reply {
    #[allow(unreachable_patterns)]
    let body = match &sent.body {
        RequestBody::Json(body) => body,
        _ => return error(400, "an image request is a JSON body"),
    };
    let request: Request = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(why) => return error(400, &format!("invalid image request: {why}")),
    };
    let n = request.n.unwrap_or(1);
    if !(1..=10).contains(&n) {
        return error(400, &format!("{n} is not between 1 and 10 - 'n'"));
    }
    let url = request.response_format.as_deref() == Some("url");
    let data: Vec<Value> = (0..n)
        .map(|index| {
            if url {
                json!({"url": format!("https://mock.llmax.invalid/images/{index}.png")})
            } else {
                json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(PIXEL_PNG)})
            }
        })
        .collect();
    let mut reply = json!({"created": 1_713_833_628, "data": data});
    if request.model.starts_with("gpt-image") {
        // OpenAI counts a square low-quality image as 272 output tokens.
        let input = tokens(&request.prompt);
        reply["usage"] = json!({
            "total_tokens": input + 272 * u64::from(n),
            "input_tokens": input,
            "output_tokens": 272 * u64::from(n),
            "input_tokens_details": {"text_tokens": input, "image_tokens": 0}
        });
    }
    ok("application/json", reply.to_string().into_bytes())
}
