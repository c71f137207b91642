//! The floor: the least any Rust client must do for the same calls, written
//! directly with reqwest and serde_json. A body serialized from a minimal
//! struct, the reply read whole and parsed into a minimal struct; streams
//! read from reqwest's byte stream, cut into lines by hand, each `data:` line
//! parsed into a minimal struct. Embeddings: the vectors parsed into
//! `Vec<f32>`s (or base64 decoded into them) in the order of the reply. No
//! retries, no timeouts, no accounting.

use base64::Engine as _;
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::{BoxError, Conversation, Streamed};

/// A reqwest client, the two endpoints of the fake provider and their
/// headers, parsed once.
#[derive(Clone)]
pub struct Floor {
    http: reqwest::Client,
    openai_url: reqwest::Url,
    anthropic_url: reqwest::Url,
    gemini_url: reqwest::Url,
    gemini_stream_url: reqwest::Url,
    embeddings_url: reqwest::Url,
    openai_headers: HeaderMap,
    anthropic_headers: HeaderMap,
    gemini_headers: HeaderMap,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct OpenAiRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bench_chunks: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bench_delay_ms: Option<u64>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct AnthropicRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    system: &'a str,
    messages: [Message<'a>; 1],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bench_chunks: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bench_delay_ms: Option<u64>,
}

#[derive(Deserialize)]
struct OpenAiResponse {
    #[allow(dead_code)]
    id: String,
    choices: Vec<OpenAiChoice>,
    usage: OpenAiUsage,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    #[allow(dead_code)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct OpenAiChunk {
    #[serde(default)]
    choices: Vec<OpenAiChunkChoice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChunkChoice {
    delta: Option<OpenAiDelta>,
    #[allow(dead_code)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiDelta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicResponse {
    #[allow(dead_code)]
    id: String,
    content: Vec<AnthropicBlock>,
    usage: AnthropicUsage,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

#[derive(Deserialize)]
struct AnthropicEvent {
    #[serde(rename = "type")]
    kind: String,
    delta: Option<AnthropicDelta>,
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicDelta {
    text: Option<String>,
}

#[derive(Serialize)]
struct GeminiText<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct GeminiContent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    parts: [GeminiText<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GeminiRequest<'a> {
    contents: [GeminiContent<'a>; 1],
    system_instruction: GeminiContent<'a>,
    #[serde(rename = "bench_chunks", skip_serializing_if = "Option::is_none")]
    bench_chunks: Option<usize>,
    #[serde(rename = "bench_delay_ms", skip_serializing_if = "Option::is_none")]
    bench_delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiResponse {
    #[serde(default)]
    candidates: Vec<GeminiCandidate>,
    usage_metadata: Option<GeminiUsage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiCandidate {
    content: Option<GeminiReplyContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct GeminiReplyContent {
    #[serde(default)]
    parts: Vec<GeminiPart>,
}

#[derive(Deserialize)]
struct GeminiPart {
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

impl GeminiUsage {
    /// Output tokens as llmax counts them: thoughts included.
    fn output(&self) -> u64 {
        self.candidates_token_count + self.thoughts_token_count
    }
}

#[derive(Serialize)]
struct EmbeddingRequest<'a> {
    model: &'a str,
    input: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_format: Option<&'a str>,
}

#[derive(Deserialize)]
struct EmbeddingResponse<V> {
    data: Vec<EmbeddingItem<V>>,
    usage: EmbeddingUsage,
}

#[derive(Deserialize)]
struct EmbeddingItem<V> {
    embedding: V,
}

#[derive(Deserialize)]
struct EmbeddingUsage {
    prompt_tokens: u64,
}

/// The vectors of an embeddings call and its input tokens.
#[derive(Debug)]
pub struct Embedded {
    /// One per input, in the order the reply lists them.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens.
    pub tokens: u64,
}

/// A non-streamed answer: its text and token counts.
#[derive(Debug)]
pub struct Answer {
    /// The text.
    pub text: String,
    /// Input + output tokens.
    pub tokens: u64,
}

impl Floor {
    /// A floor client of the fake provider at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Floor {
        // llmax builds reqwest without a rustls crypto provider and installs
        // ring when it builds its client; this one may come first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .expect("a reqwest client");
        let url = |path: &str| reqwest::Url::parse(&format!("{base}{path}")).expect("a URL");
        let json = HeaderValue::from_static("application/json");
        let mut openai_headers = HeaderMap::new();
        openai_headers.insert(CONTENT_TYPE, json.clone());
        openai_headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer sk-bench"));
        let mut anthropic_headers = HeaderMap::new();
        anthropic_headers.insert(CONTENT_TYPE, json);
        anthropic_headers.insert("x-api-key", HeaderValue::from_static("sk-ant-bench"));
        anthropic_headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        let mut gemini_headers = HeaderMap::new();
        gemini_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        gemini_headers.insert("x-goog-api-key", HeaderValue::from_static("g-bench"));
        Floor {
            http,
            openai_url: url("/chat/completions"),
            anthropic_url: url("/v1/messages"),
            gemini_url: url("/models/gemini-2.5-flash:generateContent"),
            gemini_stream_url: url("/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
            embeddings_url: url("/embeddings"),
            openai_headers,
            anthropic_headers,
            gemini_headers,
        }
    }

    fn openai_body(
        conversation: &Conversation,
        stream: bool,
        chunks: Option<(usize, u64)>,
    ) -> Vec<u8> {
        let request = OpenAiRequest {
            model: "gpt-4o",
            messages: [
                Message {
                    role: "system",
                    content: conversation.system,
                },
                Message {
                    role: "user",
                    content: conversation.user,
                },
            ],
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
            bench_chunks: chunks.map(|(n, _)| n),
            bench_delay_ms: chunks.map(|(_, delay)| delay).filter(|d| *d > 0),
        };
        serde_json::to_vec(&request).expect("serializable")
    }

    fn anthropic_body(
        conversation: &Conversation,
        stream: bool,
        chunks: Option<(usize, u64)>,
    ) -> Vec<u8> {
        let request = AnthropicRequest {
            model: "claude-sonnet-4-5",
            max_tokens: 64000,
            system: conversation.system,
            messages: [Message {
                role: "user",
                content: conversation.user,
            }],
            stream,
            bench_chunks: chunks.map(|(n, _)| n),
            bench_delay_ms: chunks.map(|(_, delay)| delay).filter(|d| *d > 0),
        };
        serde_json::to_vec(&request).expect("serializable")
    }

    fn gemini_body(conversation: &Conversation, chunks: Option<(usize, u64)>) -> Vec<u8> {
        let request = GeminiRequest {
            contents: [GeminiContent {
                role: Some("user"),
                parts: [GeminiText {
                    text: conversation.user,
                }],
            }],
            system_instruction: GeminiContent {
                role: None,
                parts: [GeminiText {
                    text: conversation.system,
                }],
            },
            bench_chunks: chunks.map(|(n, _)| n),
            bench_delay_ms: chunks.map(|(_, delay)| delay).filter(|d| *d > 0),
        };
        serde_json::to_vec(&request).expect("serializable")
    }

    fn post_gemini(&self, url: &reqwest::Url, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .post(url.clone())
            .headers(self.gemini_headers.clone())
            .body(body)
    }

    fn post_openai(&self, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .post(self.openai_url.clone())
            .headers(self.openai_headers.clone())
            .body(body)
    }

    fn post_anthropic(&self, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .post(self.anthropic_url.clone())
            .headers(self.anthropic_headers.clone())
            .body(body)
    }

    /// A non-streamed OpenAI chat completion.
    pub async fn openai(&self, conversation: &Conversation) -> Result<Answer, BoxError> {
        let body = Floor::openai_body(conversation, false, None);
        let response = self.post_openai(body).send().await?.error_for_status()?;
        let bytes = response.bytes().await?;
        let reply: OpenAiResponse = serde_json::from_slice(&bytes)?;
        let text = reply
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .unwrap_or_default();
        Ok(Answer {
            text,
            tokens: reply.usage.prompt_tokens + reply.usage.completion_tokens,
        })
    }

    /// A non-streamed Anthropic message.
    pub async fn anthropic(&self, conversation: &Conversation) -> Result<Answer, BoxError> {
        let body = Floor::anthropic_body(conversation, false, None);
        let response = self.post_anthropic(body).send().await?.error_for_status()?;
        let bytes = response.bytes().await?;
        let reply: AnthropicResponse = serde_json::from_slice(&bytes)?;
        let mut text = String::new();
        for block in reply.content {
            text.push_str(block.text.as_deref().unwrap_or_default());
        }
        Ok(Answer {
            text,
            tokens: reply.usage.input_tokens + reply.usage.output_tokens,
        })
    }

    /// A non-streamed Gemini `generateContent`.
    pub async fn gemini(&self, conversation: &Conversation) -> Result<Answer, BoxError> {
        let body = Floor::gemini_body(conversation, None);
        let response = self
            .post_gemini(&self.gemini_url, body)
            .send()
            .await?
            .error_for_status()?;
        let bytes = response.bytes().await?;
        let reply: GeminiResponse = serde_json::from_slice(&bytes)?;
        let mut text = String::new();
        let parts = reply
            .candidates
            .into_iter()
            .next()
            .and_then(|candidate| candidate.content)
            .map(|content| content.parts)
            .unwrap_or_default();
        for part in parts {
            text.push_str(part.text.as_deref().unwrap_or_default());
        }
        let tokens = reply
            .usage_metadata
            .map_or(0, |usage| usage.prompt_token_count + usage.output());
        Ok(Answer { text, tokens })
    }

    /// Starts a streamed Gemini `streamGenerateContent` of `chunks` text events.
    pub async fn gemini_open(
        &self,
        conversation: &Conversation,
        chunks: usize,
        delay_ms: u64,
    ) -> Result<reqwest::Response, BoxError> {
        let body = Floor::gemini_body(conversation, Some((chunks, delay_ms)));
        Ok(self
            .post_gemini(&self.gemini_stream_url, body)
            .send()
            .await?
            .error_for_status()?)
    }

    /// Reads a streamed Gemini reply, to the event with the finish reason.
    pub async fn gemini_read(response: reqwest::Response) -> Result<Streamed, BoxError> {
        let mut streamed = Streamed::default();
        data_lines(response, |data| {
            let event: GeminiResponse = serde_json::from_slice(data)?;
            let mut finished = false;
            for candidate in event.candidates {
                for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                    if let Some(text) = part.text
                        && !text.is_empty()
                    {
                        streamed.content_chunks += 1;
                        streamed.bytes += text.len();
                    }
                }
                finished |= candidate.finish_reason.is_some();
            }
            if finished && let Some(usage) = event.usage_metadata {
                streamed.output_tokens = Some(usage.output());
            }
            Ok(finished)
        })
        .await?;
        Ok(streamed)
    }

    /// An OpenAI embeddings call: the vectors as JSON numbers, or as base64
    /// of little-endian `f32`s, decoded.
    pub async fn embeddings(&self, inputs: &[String], base64: bool) -> Result<Embedded, BoxError> {
        let request = EmbeddingRequest {
            model: "text-embedding-3-small",
            input: inputs,
            encoding_format: base64.then_some("base64"),
        };
        let body = serde_json::to_vec(&request)?;
        let response = self
            .http
            .post(self.embeddings_url.clone())
            .headers(self.openai_headers.clone())
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        let bytes = response.bytes().await?;
        if !base64 {
            let reply: EmbeddingResponse<Vec<f32>> = serde_json::from_slice(&bytes)?;
            return Ok(Embedded {
                vectors: reply.data.into_iter().map(|item| item.embedding).collect(),
                tokens: reply.usage.prompt_tokens,
            });
        }
        let reply: EmbeddingResponse<String> = serde_json::from_slice(&bytes)?;
        let mut vectors = Vec::with_capacity(reply.data.len());
        for item in reply.data {
            let raw = base64::engine::general_purpose::STANDARD.decode(item.embedding)?;
            vectors.push(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            );
        }
        Ok(Embedded {
            vectors,
            tokens: reply.usage.prompt_tokens,
        })
    }

    /// Starts a streamed OpenAI chat completion of `chunks` content chunks.
    pub async fn openai_open(
        &self,
        conversation: &Conversation,
        chunks: usize,
        delay_ms: u64,
    ) -> Result<reqwest::Response, BoxError> {
        let body = Floor::openai_body(conversation, true, Some((chunks, delay_ms)));
        Ok(self.post_openai(body).send().await?.error_for_status()?)
    }

    /// Reads a streamed OpenAI chat completion.
    pub async fn openai_read(response: reqwest::Response) -> Result<Streamed, BoxError> {
        let mut streamed = Streamed::default();
        data_lines(response, |data| {
            if data == b"[DONE]" {
                return Ok(true);
            }
            let chunk: OpenAiChunk = serde_json::from_slice(data)?;
            for choice in chunk.choices {
                if let Some(text) = choice.delta.and_then(|delta| delta.content)
                    && !text.is_empty()
                {
                    streamed.content_chunks += 1;
                    streamed.bytes += text.len();
                }
            }
            if let Some(usage) = chunk.usage {
                streamed.output_tokens = Some(usage.completion_tokens);
            }
            Ok(false)
        })
        .await?;
        Ok(streamed)
    }

    /// Starts a streamed Anthropic message of `chunks` content deltas.
    pub async fn anthropic_open(
        &self,
        conversation: &Conversation,
        chunks: usize,
        delay_ms: u64,
    ) -> Result<reqwest::Response, BoxError> {
        let body = Floor::anthropic_body(conversation, true, Some((chunks, delay_ms)));
        Ok(self.post_anthropic(body).send().await?.error_for_status()?)
    }

    /// Reads a streamed Anthropic message.
    pub async fn anthropic_read(response: reqwest::Response) -> Result<Streamed, BoxError> {
        let mut streamed = Streamed::default();
        data_lines(response, |data| {
            let event: AnthropicEvent = serde_json::from_slice(data)?;
            if let Some(text) = event.delta.and_then(|delta| delta.text)
                && !text.is_empty()
            {
                streamed.content_chunks += 1;
                streamed.bytes += text.len();
            }
            if let Some(usage) = event.usage {
                streamed.output_tokens = Some(usage.output_tokens);
            }
            Ok(event.kind == "message_stop")
        })
        .await?;
        Ok(streamed)
    }
}

/// Feeds each `data:` line of an SSE body to `on_data` until it returns true
/// (the end marker) or the body ends.
async fn data_lines(
    response: reqwest::Response,
    mut on_data: impl FnMut(&[u8]) -> Result<bool, BoxError>,
) -> Result<(), BoxError> {
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(bytes) = body.next().await {
        buffer.extend_from_slice(&bytes?);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &buffer[start..]) {
            let line = &buffer[start..start + end];
            start += end + 1;
            if let Some(data) = line.strip_prefix(b"data: ")
                && on_data(data)?
            {
                return Ok(());
            }
        }
        buffer.drain(..start);
    }
    Err("the stream ended without its end marker".into())
}
