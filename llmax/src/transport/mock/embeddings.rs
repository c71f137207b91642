//! The mock provider's `POST /embeddings`, answered as OpenAI would.
//!
//! Each input gets a vector derived from a hash of its text alone, so the
//! same text always gets the same vector, in any call, batch or position; it
//! is normalised to length 1, like OpenAI's. The length is the model's
//! (3072 for `text-embedding-3-large`, 1536 for the others) or the requested
//! `dimensions`, and a shortened vector is the normalised start of the full
//! one, as with OpenAI's `text-embedding-3-*`. `encoding_format: "base64"`
//! sends each vector as base64 of its little-endian `f32`s. `prompt_tokens`
//! follows the chat mock's four-characters rule.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{error, ok, tokens};
use crate::transport::{Reply, Request as Sent, RequestBody};

/// The part of an OpenAI embeddings request the mock reads.
#[derive(Deserialize)]
struct Request {
    model: String,
    input: Input,
    #[serde(default)]
    dimensions: Option<usize>,
    #[serde(default)]
    encoding_format: Option<String>,
}

/// One text or many, as OpenAI takes them (token arrays are not served).
#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize)]
struct Response<'a> {
    object: &'static str,
    data: Vec<Item>,
    model: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
struct Item {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

/// Serialized from `f32`s, so the numbers are written as short as an `f32`
/// needs, as OpenAI writes them.
#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// Answers one embeddings request.
pub(super) fn answer(sent: &Sent<'_>) -> Reply {
    // Other kinds of body (multipart uploads) are not embeddings requests.
    #[allow(unreachable_patterns)]
    let body = match &sent.body {
        RequestBody::Json(body) => body,
        _ => return error(400, "an embeddings request is a JSON body"),
    };
    let request: Request = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(why) => return error(400, &format!("invalid embeddings request: {why}")),
    };
    let inputs = match request.input {
        Input::One(text) => vec![text],
        Input::Many(texts) => texts,
    };
    if inputs.is_empty() || inputs.len() > 2048 {
        return error(
            400,
            &format!(
                "'$.input' is invalid: {} inputs; 1 to 2048 are allowed",
                inputs.len()
            ),
        );
    }
    if inputs.iter().any(String::is_empty) {
        return error(400, "'$.input' is invalid: an input is an empty string");
    }
    let native = if request.model.contains("3-large") {
        3072
    } else {
        1536
    };
    let dimensions = request.dimensions.unwrap_or(native);
    if dimensions == 0 || dimensions > native {
        return error(
            400,
            &format!(
                "`dimensions` must be between 1 and {native} for {}",
                request.model
            ),
        );
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return error(
                400,
                &format!("'{other}' is not one of ['float', 'base64'] - 'encoding_format'"),
            );
        }
    };
    let prompt_tokens = inputs.iter().map(|text| tokens(text)).sum();
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let values = vector(text, dimensions);
            let embedding = if base64 {
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                Vector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                Vector::Float(values)
            };
            Item {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    let response = Response {
        object: "list",
        data,
        model: &request.model,
        usage: Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    match serde_json::to_vec(&response) {
        Ok(body) => ok("application/json", body),
        Err(why) => error(500, &format!("the mock could not write its reply: {why}")),
    }
}

/// The unit vector of a text: `dimensions` numbers from a generator seeded
/// by the text's hash (FNV-1a, then SplitMix64: both fixed algorithms, so
/// the vectors never change between builds, unlike `std`'s hasher).
fn vector(text: &str, dimensions: usize) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut values: Vec<f64> = (0..dimensions)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            // 53 random bits, as a number in [-1, 1).
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for value in &mut values {
            *value /= norm;
        }
    }
    values.into_iter().map(|v| v as f32).collect()
}
