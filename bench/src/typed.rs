//! Workload 9: typed streaming against plain streaming, both llmax, on the
//! same stream: the fake provider's OpenAI stream with its content pieces
//! replaced by the pieces of a JSON answer (`bench_json`), read once with
//! `astream` (the text) and once with `astream_typed` (the text, the
//! partial value after every chunk, and the parsed value at the end). The
//! ratio is what the typed layer (incremental parse and partial update per
//! chunk) costs on top of a plain stream; the target is 1.3x.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use llmax::{Message, MultiAIClient, TypedEvent};
use serde_json::Value;

use crate::fixtures::StreamFrames;
use crate::workloads::Proto;
use crate::{BoxError, Streamed};

/// The answer the JSON stream carries: a title, then items that grow one
/// word at a time, as a model writes a list.
#[derive(Debug, serde::Deserialize, llmax::LlmSchema)]
pub struct BenchAnswer {
    /// The title.
    pub title: String,
    /// The items, in order.
    pub items: Vec<String>,
}

/// The content pieces of a [`BenchAnswer`] in `chunks` pieces (at least 4):
/// a word (or a separator) each, about the size of a model's token.
pub fn json_pieces(chunks: usize) -> Vec<String> {
    let words = [
        "Lorem ",
        "ipsum ",
        "dolor ",
        "sit ",
        "amet, ",
        "é中 ",
        "\\\"q\\\" ",
    ];
    let mut pieces = vec![r#"{"title": "Bench", "items": [""#.to_owned()];
    let body = chunks.max(4) - 2;
    for i in 0..body {
        if i % 12 == 11 {
            pieces.push(r#"", ""#.to_owned());
        } else {
            pieces.push(words[i % words.len()].to_owned());
        }
    }
    pieces.push(r#""]}"#.to_owned());
    pieces
}

/// `frames` with their body replaced by `chunks` content events carrying
/// [`json_pieces`], each built from the first recorded content event.
pub fn json_frames(frames: &StreamFrames, chunks: usize) -> StreamFrames {
    let template: Option<Value> = frames.body.first().and_then(|frame| {
        let line = frame.strip_prefix(b"data: ")?;
        serde_json::from_slice(line.trim_ascii_end()).ok()
    });
    let body = json_pieces(chunks)
        .into_iter()
        .filter_map(|piece| {
            let mut event = template.clone()?;
            event["choices"][0]["delta"]["content"] = Value::String(piece);
            Some(Bytes::from(format!("data: {event}\n\n")))
        })
        .collect();
    StreamFrames {
        head: frames.head.clone(),
        body,
        tail: frames.tail.clone(),
    }
}

/// `total` streams of `chunks` JSON pieces, `in_flight` at a time, read
/// typed or plain; what was read (equal for both).
pub async fn json_streams(
    client: &MultiAIClient,
    messages: Arc<[Message]>,
    typed: bool,
    total: usize,
    in_flight: usize,
    chunks: usize,
) -> Result<Streamed, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..in_flight.min(total))
        .map(|_| {
            let (client, messages, next) = (client.clone(), messages.clone(), next.clone());
            tokio::spawn(async move {
                let mut read = Streamed::default();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    read.add(if typed {
                        typed_stream(&client, &messages, chunks).await?
                    } else {
                        plain_stream(&client, &messages, chunks).await?
                    });
                }
                Ok::<_, BoxError>(read)
            })
        })
        .collect();
    let mut read = Streamed::default();
    for task in tasks {
        read.add(task.await??);
    }
    Ok(read)
}

async fn plain_stream(
    client: &MultiAIClient,
    messages: &[Message],
    chunks: usize,
) -> Result<Streamed, BoxError> {
    let mut stream = client
        .astream(messages, Proto::OpenAi.model())
        .extra("bench_chunks", chunks)
        .extra("bench_json", true)
        .await?;
    let mut read = Streamed::default();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = &chunk?.content {
            read.content_chunks += 1;
            read.bytes += text.len();
        }
    }
    Ok(read)
}

async fn typed_stream(
    client: &MultiAIClient,
    messages: &[Message],
    chunks: usize,
) -> Result<Streamed, BoxError> {
    let mut stream = client
        .astream_typed::<BenchAnswer>(messages, Proto::OpenAi.model())
        .extra("bench_chunks", chunks)
        .extra("bench_json", true)
        .await?;
    let mut read = Streamed::default();
    let mut items = 0;
    while let Some(event) = stream.next().await {
        match event? {
            TypedEvent::Delta(text) => {
                read.content_chunks += 1;
                read.bytes += text.len();
            }
            // Dropped at once, as a caller that renders it does: the next
            // chunk updates it in place.
            TypedEvent::Partial(partial) => items = partial.items.as_ref().map_or(0, Vec::len),
            TypedEvent::Done(answer) => {
                if answer.items.len() != items {
                    return Err(
                        format!("{} items, the last partial {items}", answer.items.len()).into(),
                    );
                }
            }
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pieces_are_one_answer() {
        for chunks in [4, 5, 64, 256] {
            let pieces = json_pieces(chunks);
            assert_eq!(pieces.len(), chunks);
            let answer: BenchAnswer = serde_json::from_str(&pieces.concat()).unwrap();
            assert_eq!(answer.title, "Bench");
            assert!(!answer.items.is_empty());
        }
    }
}
