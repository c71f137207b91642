//! Gemini embeddings (`POST {base}/models/{model}:batchEmbedContents`).
//!
//! Every call goes through `batchEmbedContents`, one `EmbedContentRequest`
//! per input (a single input is a batch of one): the vectors come back in
//! the order of the requests. `dimensions` becomes each request's
//! `outputDimensionality`; the `extra` fields (`taskType`, `title`...) go
//! into each request, which is where Gemini reads them. Vectors always
//! travel as JSON numbers, so the `encoding` option changes nothing here.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model_path;
use crate::deployment::Resolved;
use crate::embeddings::EmbeddingOptions;
use crate::error::{Error, Result};
use crate::protocol::openai::embeddings::Parsed;
use crate::response::Usage;

/// The most requests `batchEmbedContents` takes at once.
pub(crate) const MAX_INPUTS: usize = 100;

/// The path of the embeddings endpoint under the base URL.
pub(crate) fn path(model: &str) -> String {
    format!("/{}:batchEmbedContents", model_path(model))
}

/// Cuts the inputs into batches of at most `max_inputs` (and
/// [`MAX_INPUTS`]) inputs, within the byte limit of the OpenAI protocol's
/// batches (Gemini's token limits are higher).
pub(crate) fn batches(inputs: &[String], max_inputs: usize) -> Vec<Range<usize>> {
    crate::protocol::openai::embeddings::batches(inputs, max_inputs.clamp(1, MAX_INPUTS))
}

#[derive(Serialize)]
struct Batch<'a> {
    requests: Vec<Request<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    model: &'a str,
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: [Text<'a>; 1],
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// The body of one batch.
pub(crate) fn body(
    resolved: &Resolved,
    inputs: &[String],
    options: &EmbeddingOptions,
) -> Result<Vec<u8>> {
    let model = model_path(&resolved.wire_model);
    // The caller's field wins over llmax's.
    let dimensions = options
        .dimensions
        .filter(|_| !options.extra.contains_key("outputDimensionality"));
    let batch = Batch {
        requests: inputs
            .iter()
            .map(|text| Request {
                model: &model,
                content: Content {
                    parts: [Text { text }],
                },
                output_dimensionality: dimensions,
                extra: &options.extra,
            })
            .collect(),
    };
    serde_json::to_vec(&batch).map_err(|error| Error::InvalidRequest {
        model: resolved.model.name,
        message: format!("body does not serialize: {error}"),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    embeddings: Vec<WireEmbedding>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireEmbedding {
    #[serde(default)]
    values: Vec<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: Option<u64>,
}

/// Parses a `batchEmbedContents` response of `inputs` inputs.
pub(crate) fn parse(provider: &'static str, body: &[u8], inputs: usize) -> Result<Parsed> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    if wire.embeddings.len() != inputs {
        return Err(Error::decode(
            provider,
            format!("{} embeddings for {inputs} inputs", wire.embeddings.len()),
            body,
        ));
    }
    let input_tokens = wire
        .usage_metadata
        .and_then(|usage| usage.prompt_token_count)
        .unwrap_or(0);
    Ok(Parsed {
        model: String::new(),
        embeddings: wire.embeddings.into_iter().map(|e| e.values).collect(),
        usage: Usage::new(input_tokens, 0),
    })
}
