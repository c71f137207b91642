//! The recorded provider bodies the fake provider serves, read once at start.
//!
//! Non-streamed replies are the recorded JSON bodies as they are. Streams are
//! cut in three: the events before the content (`head`), the content events
//! (`body`, repeated or trimmed to the requested count) and the events after
//! it (`tail`: the finish reason, the usage and the end marker). Every event is
//! framed as SSE once, here, so that serving one costs a reference count.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;

/// One protocol's stream, framed.
#[derive(Debug, Clone)]
pub struct StreamFrames {
    /// Events before the first content event.
    pub head: Vec<Bytes>,
    /// The content events, served round-robin.
    pub body: Vec<Bytes>,
    /// Events after the content, end marker included.
    pub tail: Vec<Bytes>,
}

/// Everything the fake provider serves.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// `openai/openai-text.json`.
    pub openai_json: Bytes,
    /// `openai/openai-text.chunks.txt`, as `data: ...` events then `data: [DONE]`.
    pub openai_stream: StreamFrames,
    /// `anthropic/anthropic-text.json`.
    pub anthropic_json: Bytes,
    /// `anthropic/anthropic-text.chunks.txt`, as `event: TYPE` + `data: ...` events.
    pub anthropic_stream: StreamFrames,
    /// `google/google-text.json`.
    pub gemini_json: Bytes,
    /// `google/google-text.chunks.txt`, as `data: ...` events (no end marker).
    pub gemini_stream: StreamFrames,
    /// The numbers of `openai/openai-embedding.json`, as written there and as
    /// `f32`: the embeddings replies repeat them to the vectors' length.
    pub embedding_numbers: Vec<(String, f32)>,
}

/// Where the recorded fixtures are: the workspace's `tests/fixtures`, the
/// copy the tests read too, so the bench needs nothing outside the repository.
pub fn fixtures_dir() -> PathBuf {
    crate::workspace_root().join("tests/fixtures")
}

impl Fixtures {
    /// Reads and frames the fixtures of `dir`.
    pub fn load(dir: &Path) -> Result<Fixtures, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path)
                .map_err(|error| format!("cannot read the fixture {}: {error}", path.display()))
        };
        let openai_lines = lines(&read("openai/openai-text.chunks.txt")?)?;
        let anthropic_lines = lines(&read("anthropic/anthropic-text.chunks.txt")?)?;
        let gemini_lines = lines(&read("google/google-text.chunks.txt")?)?;
        Ok(Fixtures {
            openai_json: Bytes::from(read("openai/openai-text.json")?),
            openai_stream: openai_frames(&openai_lines)?,
            anthropic_json: Bytes::from(read("anthropic/anthropic-text.json")?),
            anthropic_stream: anthropic_frames(&anthropic_lines)?,
            gemini_json: Bytes::from(read("google/google-text.json")?),
            gemini_stream: gemini_frames(&gemini_lines)?,
            embedding_numbers: embedding_numbers(&read("openai/openai-embedding.json")?)?,
        })
    }
}

fn lines(text: &[u8]) -> Result<Vec<(String, Value)>, String> {
    let text = std::str::from_utf8(text).map_err(|error| error.to_string())?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .map(|value| (line.to_owned(), value))
                .map_err(|error| format!("a fixture line is not JSON: {error}"))
        })
        .collect()
}

/// Every number of every vector of a recorded embeddings reply, in order.
fn embedding_numbers(body: &[u8]) -> Result<Vec<(String, f32)>, String> {
    let reply: Value = serde_json::from_slice(body).map_err(|error| error.to_string())?;
    let numbers: Vec<(String, f32)> = reply["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["embedding"].as_array())
        .flatten()
        .filter_map(|number| Some((number.to_string(), number.as_f64()? as f32)))
        .collect();
    if numbers.is_empty() {
        return Err("the embeddings fixture has no numbers".to_owned());
    }
    Ok(numbers)
}

/// OpenAI: the chunks with content text are the body; the role chunk before
/// them (empty content) the head; the finish-reason chunk and the usage chunk
/// (`"choices": []`) the tail, then `data: [DONE]`.
fn openai_frames(lines: &[(String, Value)]) -> Result<StreamFrames, String> {
    let mut frames = StreamFrames {
        head: Vec::new(),
        body: Vec::new(),
        tail: Vec::new(),
    };
    for (line, value) in lines {
        let content = value["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|text| !text.is_empty());
        let frame = Bytes::from(format!("data: {line}\n\n"));
        if content && frames.tail.is_empty() {
            frames.body.push(frame);
        } else if frames.body.is_empty() {
            frames.head.push(frame);
        } else {
            frames.tail.push(frame);
        }
    }
    frames.tail.push(Bytes::from_static(b"data: [DONE]\n\n"));
    if frames.body.is_empty() {
        return Err("the OpenAI stream fixture has no content chunk".to_owned());
    }
    Ok(frames)
}

/// Anthropic: the `content_block_delta` events are the body; the events
/// before them the head, those after them the tail.
fn anthropic_frames(lines: &[(String, Value)]) -> Result<StreamFrames, String> {
    let mut frames = StreamFrames {
        head: Vec::new(),
        body: Vec::new(),
        tail: Vec::new(),
    };
    for (line, value) in lines {
        let kind = value["type"].as_str().unwrap_or("message");
        let frame = Bytes::from(format!("event: {kind}\ndata: {line}\n\n"));
        if kind == "content_block_delta" {
            frames.body.push(frame);
        } else if frames.body.is_empty() {
            frames.head.push(frame);
        } else {
            frames.tail.push(frame);
        }
    }
    if frames.body.is_empty() {
        return Err("the Anthropic stream fixture has no content_block_delta".to_owned());
    }
    Ok(frames)
}

/// Gemini: the events with answer text and no finish reason are the body;
/// the event with the finish reason (and the final usage) the tail. There
/// is no end marker: the stream ends with the connection.
fn gemini_frames(lines: &[(String, Value)]) -> Result<StreamFrames, String> {
    let mut frames = StreamFrames {
        head: Vec::new(),
        body: Vec::new(),
        tail: Vec::new(),
    };
    for (line, value) in lines {
        let candidate = &value["candidates"][0];
        let text = candidate["content"]["parts"][0]["text"]
            .as_str()
            .is_some_and(|text| !text.is_empty());
        let frame = Bytes::from(format!("data: {line}\n\n"));
        if text && candidate["finishReason"].is_null() && frames.tail.is_empty() {
            frames.body.push(frame);
        } else if frames.body.is_empty() {
            frames.head.push(frame);
        } else {
            frames.tail.push(frame);
        }
    }
    if frames.body.is_empty() {
        return Err("the Gemini stream fixture has no text event".to_owned());
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_streams_split_as_expected() {
        let fixtures = Fixtures::load(&fixtures_dir()).unwrap();
        let openai = &fixtures.openai_stream;
        assert_eq!(openai.head.len(), 1);
        assert_eq!(openai.body.len(), 300);
        assert_eq!(openai.tail.len(), 3);
        assert_eq!(openai.tail[2], Bytes::from_static(b"data: [DONE]\n\n"));
        let anthropic = &fixtures.anthropic_stream;
        assert_eq!(anthropic.head.len(), 3);
        assert_eq!(anthropic.body.len(), 6);
        assert_eq!(anthropic.tail.len(), 3);
        assert!(anthropic.tail[2].starts_with(b"event: message_stop\n"));
        let gemini = &fixtures.gemini_stream;
        assert_eq!(gemini.head.len(), 0);
        assert_eq!(gemini.body.len(), 2);
        assert_eq!(gemini.tail.len(), 1);
        assert_eq!(fixtures.embedding_numbers.len(), 10);
        assert_eq!(fixtures.embedding_numbers[0].0, "0.0057293195");
    }
}
