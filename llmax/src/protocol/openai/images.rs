//! The OpenAI image generation protocol (`POST {base}/images/generations`),
//! also served by Azure.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Map;

use crate::deployment::Resolved;
use crate::error::{Error, Result};
use crate::images::{GeneratedImage, ImageOptions};
use crate::response::Usage;

/// The most images OpenAI makes in one request.
pub(crate) const MAX_IMAGES: u32 = 10;

/// Builds the body: `model`, `prompt`, then the options set, then the
/// extra fields (which win), then the manifest's quirks.
pub(crate) fn body(resolved: &Resolved, prompt: &str, options: &ImageOptions) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    if prompt.is_empty() {
        return Err(invalid("the prompt is empty".to_owned()));
    }
    let mut body = Map::new();
    body.insert("model".into(), resolved.wire_model.clone().into());
    body.insert("prompt".into(), prompt.into());
    if let Some(count) = options.count {
        if !(1..=MAX_IMAGES).contains(&count) {
            return Err(invalid(format!(
                "`n` must be between 1 and {MAX_IMAGES}, not {count}"
            )));
        }
        body.insert("n".into(), count.into());
    }
    if let Some(size) = &options.size {
        body.insert("size".into(), size.clone().into());
    }
    if let Some(quality) = &options.quality {
        body.insert("quality".into(), quality.clone().into());
    }
    if let Some(format) = options.format {
        body.insert("output_format".into(), format.as_str().into());
    }
    if let Some(response) = options.response {
        body.insert("response_format".into(), response.as_str().into());
    }
    for (key, value) in &options.extra {
        body.insert(key.clone(), value.clone());
    }
    for quirks in [&resolved.provider.quirks, &resolved.model_quirks] {
        for (from, to) in quirks.rename {
            if let Some(value) = body.remove(*from) {
                body.entry(*to).or_insert(value);
            }
        }
        for key in quirks.drop {
            body.remove(*key);
        }
    }
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

/// A parsed reply, before the client adds cost and timing.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub images: Vec<GeneratedImage>,
    /// Tokens when the reply counts them, else empty.
    pub usage: Usage,
    /// The size and quality the reply says it made (gpt-image-*).
    pub size: Option<String>,
    pub quality: Option<String>,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    data: Vec<WireImage>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireImage {
    #[serde(default)]
    b64_json: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    revised_prompt: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

/// Parses a reply: each image has bytes (decoded) or a URL, else it is a
/// decode error, as is an empty list.
pub(crate) fn parse(provider: &'static str, body: &[u8]) -> Result<Parsed> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    if wire.data.is_empty() {
        return Err(Error::decode(provider, "no image in the reply", body));
    }
    let mut images = Vec::with_capacity(wire.data.len());
    for (at, image) in wire.data.into_iter().enumerate() {
        let bytes = match &image.b64_json {
            Some(text) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|error| {
                        Error::decode(
                            provider,
                            format!("image {at}: invalid base64: {error}"),
                            body,
                        )
                    })?,
            ),
            None => None,
        };
        if bytes.is_none() && image.url.is_none() {
            return Err(Error::decode(
                provider,
                format!("image {at} has neither bytes nor URL"),
                body,
            ));
        }
        images.push(GeneratedImage {
            bytes,
            url: image.url,
            revised_prompt: image.revised_prompt,
        });
    }
    let usage = wire
        .usage
        .map(|usage| Usage::new(usage.input_tokens, usage.output_tokens))
        .unwrap_or_default();
    Ok(Parsed {
        images,
        usage,
        size: wire.size,
        quality: wire.quality,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_reply_parses() {
        // OpenAI's ImagesResponse example, with real base64 for "...".
        let body = br#"{"created":1713833628,"data":[{"b64_json":"iVBORw=="}],"background":"transparent","output_format":"png","size":"1024x1024","quality":"high","usage":{"total_tokens":100,"input_tokens":50,"output_tokens":50,"input_tokens_details":{"text_tokens":10,"image_tokens":40}}}"#;
        let parsed = parse("openai", body).unwrap();
        assert_eq!(parsed.images[0].bytes.as_deref(), Some(&b"\x89PNG"[..]));
        assert_eq!(parsed.usage, Usage::new(50, 50));
        assert_eq!(parsed.quality.as_deref(), Some("high"));
        for bad in [
            &br#"{"data":[]}"#[..],
            br#"{"data":[{}]}"#,
            br#"{"data":[{"b64_json":"!"}]}"#,
        ] {
            assert!(matches!(parse("openai", bad), Err(Error::Decode { .. })));
        }
    }
}
