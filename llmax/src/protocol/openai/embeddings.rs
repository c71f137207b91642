//! The OpenAI embeddings protocol (`POST {base}/embeddings`), and the
//! servers that speak it: Azure, Mistral, Scaleway, Together, Ollama,
//! vLLM...
//!
//! The request always sends the inputs as an array of strings (one vector
//! per input, even for one input); the reply's vectors are put back in the
//! order of the inputs by their `index`, and decoded to `f32` whether they
//! came as numbers or as base64.

use std::ops::Range;

use base64::Engine as _;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Quirks;
use crate::deployment::Resolved;
use crate::embeddings::EmbeddingOptions;
use crate::error::{Error, Result};
use crate::response::Usage;

/// The most inputs OpenAI takes in one request: its API reference says an
/// input array "must be 2048 dimensions or less". Larger calls are split.
pub(crate) const MAX_INPUTS: usize = 2048;

/// The most bytes of input text put in one request. OpenAI also refuses a
/// request over 300,000 tokens summed over its inputs; a token covers at
/// least one byte of text, so 300,000 bytes never go over, whatever the
/// language (English averages about four bytes a token, so such a batch is
/// about 75,000 tokens).
pub(crate) const MAX_BATCH_BYTES: usize = 300_000;

/// Cuts the inputs into consecutive batches of at most `max_inputs` inputs
/// (and [`MAX_INPUTS`]) and [`MAX_BATCH_BYTES`] bytes; an input longer than
/// that alone goes in a batch of its own (the provider judges it).
pub(crate) fn batches(inputs: &[String], max_inputs: usize) -> Vec<Range<usize>> {
    let max_inputs = max_inputs.clamp(1, MAX_INPUTS);
    let mut out = Vec::with_capacity(inputs.len().div_ceil(max_inputs));
    let mut start = 0;
    let mut bytes = 0;
    for (at, input) in inputs.iter().enumerate() {
        let full = at - start == max_inputs || bytes + input.len() > MAX_BATCH_BYTES;
        if full && at > start {
            out.push(start..at);
            start = at;
            bytes = 0;
        }
        bytes += input.len();
    }
    if start < inputs.len() {
        out.push(start..inputs.len());
    }
    out
}

/// A top-level field of the body, borrowed from the call.
enum Field<'a> {
    Text(&'a str),
    Inputs(&'a [String]),
    Number(u32),
    Json(&'a Value),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Field::Text(text) => serializer.serialize_str(text),
            Field::Inputs(inputs) => inputs.serialize(serializer),
            Field::Number(number) => serializer.serialize_u32(*number),
            Field::Json(value) => value.serialize(serializer),
        }
    }
}

/// The body as an ordered list of top-level fields, so that the manifest's
/// quirks can rename and drop fields (Mistral calls `dimensions`
/// `output_dimension`) and nothing is copied: the inputs are serialized
/// straight from the caller's strings.
struct Body<'a>(Vec<(&'a str, Field<'a>)>);

impl<'a> Body<'a> {
    fn set(&mut self, name: &'a str, value: Field<'a>) {
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The same rewrites as chat bodies get: a field already sent under the
    /// target name wins over a renamed one.
    fn apply(&mut self, quirks: &'a Quirks) {
        for (from, to) in quirks.rename {
            if let Some(index) = self.0.iter().position(|(key, _)| key == from) {
                if self.0.iter().any(|(key, _)| key == to) {
                    self.0.remove(index);
                } else {
                    self.0[index].0 = to;
                }
            }
        }
        self.0.retain(|(key, _)| !quirks.drop.contains(key));
    }
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Builds the body of one batch: `model`, `input` (always an array),
/// `dimensions` and `encoding_format` when set, the extra fields, then the
/// manifest's quirks.
pub(crate) fn body(
    resolved: &Resolved,
    inputs: &[String],
    options: &EmbeddingOptions,
) -> Result<Vec<u8>> {
    let model = resolved.model.name;
    let invalid = |message: String| Error::InvalidRequest { model, message };
    if inputs.is_empty() {
        return Err(invalid("no inputs to embed".to_owned()));
    }
    let mut body = Body(Vec::with_capacity(4 + options.extra.len()));
    body.set("model", Field::Text(&resolved.wire_model));
    body.set("input", Field::Inputs(inputs));
    if let Some(dimensions) = options.dimensions {
        if dimensions == 0 {
            return Err(invalid("`dimensions` must be at least 1".to_owned()));
        }
        body.set("dimensions", Field::Number(dimensions));
    }
    if let Some(encoding) = options.encoding {
        body.set("encoding_format", Field::Text(encoding.as_str()));
    }
    for (key, value) in &options.extra {
        body.set(key, Field::Json(value));
    }
    body.apply(&resolved.provider.quirks);
    body.apply(&resolved.model_quirks);
    serde_json::to_vec(&body).map_err(|error| invalid(format!("body does not serialize: {error}")))
}

/// A parsed embeddings response, before the client adds cost and timing.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub model: String,
    /// In the order of the inputs.
    pub embeddings: Vec<Vec<f32>>,
    pub usage: Usage,
}

// ---- wire types (lenient: optional fields, unknown ones ignored) ----

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    data: Vec<WireEmbedding>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireEmbedding {
    /// The input's position; servers that leave it out list the vectors in
    /// input order.
    #[serde(default)]
    index: Option<usize>,
    embedding: Vector,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    /// Some servers give only the total, which for embeddings is the same
    /// number.
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// Standard base64, with or without its padding: OpenAI pads, but a
/// compatible server that does not still sends whole `f32`s.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A vector: a JSON array of numbers, or base64 of little-endian `f32`s.
struct Vector(Vec<f32>);

/// By hand, not `#[serde(untagged)]`, which would buffer every number into
/// an intermediate value first: the numbers are most of the reply.
impl<'de> Deserialize<'de> for Vector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;

        impl<'de> Visitor<'de> for Visit {
            type Value = Vector;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of numbers or a base64 string")
            }

            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Vector, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(value) = seq.next_element::<f32>()? {
                    values.push(value);
                }
                Ok(Vector(values))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Vector, E> {
                let bytes = BASE64
                    .decode(text)
                    .map_err(|error| E::custom(format!("invalid base64 vector: {error}")))?;
                if bytes.len() % 4 != 0 {
                    return Err(E::custom(format!(
                        "a base64 vector of {} bytes is not a whole number of f32s",
                        bytes.len()
                    )));
                }
                Ok(Vector(
                    bytes
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                ))
            }
        }

        deserializer.deserialize_any(Visit)
    }
}

/// Parses the reply of a batch of `inputs` inputs: exactly one vector per
/// input, each index once, or a decode error (a vector given to the wrong
/// input would be silently wrong).
pub(crate) fn parse(provider: &'static str, body: &[u8], inputs: usize) -> Result<Parsed> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|error| Error::decode_source(provider, error, body))?;
    if wire.data.len() != inputs {
        return Err(Error::decode(
            provider,
            format!("{} embeddings for {inputs} inputs", wire.data.len()),
            body,
        ));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for (position, item) in wire.data.into_iter().enumerate() {
        let index = item.index.unwrap_or(position);
        match slots.get_mut(index) {
            Some(slot @ None) => *slot = Some(item.embedding.0),
            Some(Some(_)) => {
                return Err(Error::decode(
                    provider,
                    format!("two embeddings for input {index}"),
                    body,
                ));
            }
            None => {
                return Err(Error::decode(
                    provider,
                    format!("an embedding for input {index} of {inputs}"),
                    body,
                ));
            }
        }
    }
    // Every slot is filled: as many items as slots, none twice.
    let embeddings = slots.into_iter().flatten().collect();
    let tokens = wire
        .usage
        .and_then(|usage| usage.prompt_tokens.or(usage.total_tokens))
        .unwrap_or(0);
    Ok(Parsed {
        model: wire.model.unwrap_or_default(),
        embeddings,
        usage: Usage::new(tokens, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sizes: &[usize]) -> Vec<String> {
        sizes.iter().map(|n| "x".repeat(*n)).collect()
    }

    #[test]
    fn batches_keep_order_and_limits() {
        let inputs = texts(&[1; 2050]);
        assert_eq!(batches(&inputs, MAX_INPUTS), vec![0..2048, 2048..2050]);
        assert_eq!(
            batches(&inputs, 1000),
            vec![0..1000, 1000..2000, 2000..2050]
        );
        // Never above the protocol's limit, never zero.
        assert_eq!(batches(&inputs, 10_000), vec![0..2048, 2048..2050]);
        assert_eq!(batches(&texts(&[1, 1]), 0), vec![0..1, 1..2]);
        assert!(batches(&[], 10).is_empty());
    }

    #[test]
    fn batches_stay_under_the_byte_limit() {
        let third = MAX_BATCH_BYTES / 3;
        let inputs = texts(&[third, third, third, 1, MAX_BATCH_BYTES + 1, 5]);
        assert_eq!(batches(&inputs, MAX_INPUTS), vec![0..3, 3..4, 4..5, 5..6]);
    }

    #[test]
    fn vectors_are_put_in_input_order_from_numbers_or_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(
            [0.5f32, -2.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":"{encoded}"}},{{"index":0,"embedding":[0.25,1e-3]}}],"model":"m","usage":{{"total_tokens":7}}}}"#
        );
        let parsed = parse("openai", body.as_bytes(), 2).unwrap();
        assert_eq!(parsed.embeddings, vec![vec![0.25, 0.001], vec![0.5, -2.0]]);
        assert_eq!(parsed.usage, Usage::new(7, 0));
        assert_eq!(parsed.model, "m");
    }

    #[test]
    fn a_reply_that_does_not_match_the_inputs_is_refused() {
        for (body, inputs) in [
            (r#"{"data":[{"index":0,"embedding":[1]}]}"#, 2),
            (
                r#"{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}"#,
                2,
            ),
            (r#"{"data":[{"index":5,"embedding":[1]}]}"#, 1),
            (r#"{"data":[{"index":0,"embedding":"AAA"}]}"#, 1),
            (r#"{"data":[{"index":0,"embedding":"not base64!"}]}"#, 1),
            (r#"{"data":[{"index":0}]}"#, 1),
        ] {
            let error = parse("openai", body.as_bytes(), inputs).unwrap_err();
            assert!(matches!(error, Error::Decode { .. }), "{body}: {error:?}");
        }
    }
}
