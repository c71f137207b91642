//! The fake provider: a small hyper server speaking OpenAI's chat completions
//! (`POST /chat/completions`, `/v1/chat/completions`) and Anthropic's
//! Messages (`POST /v1/messages`) and Gemini's `generateContent` (`POST
//! /models/{model}:generateContent`, `:streamGenerateContent`), non-streamed
//! and streamed, from the
//! recorded fixtures; and OpenAI's embeddings (`POST /embeddings`,
//! `/v1/embeddings`): one vector per input, of `dimensions` numbers (1536 by
//! default), the recorded reply's numbers repeated, as JSON numbers or as
//! base64 (`encoding_format`). Each shape of embeddings reply is built once
//! and then served from memory.
//!
//! A request chooses its stream's shape, in this order of precedence:
//! - headers `x-bench-chunks` and `x-bench-delay-ms`;
//! - query parameters `chunks` and `delay_ms`;
//! - body fields `bench_chunks` and `bench_delay_ms` (llmax sends them with
//!   `.extra(...)`).
//!
//! `chunks` is the number of content events (the recorded ones, repeated or
//! trimmed); the delay is waited before each content event but the first.
//! Without them a stream is the recording as it is. Each SSE event is its own
//! HTTP chunk, as real providers send them.
//!
//! The benches run it in a process of its own (`llmax-bench serve ADDR`), so
//! that its CPU time and file descriptors are not the client's.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::fixtures::{Fixtures, StreamFrames};

type Body = Either<Full<Bytes>, SseBody>;

/// Runs the fake provider on `addr` until the process is killed. Prints
/// `listening on ADDR` on stdout once it accepts connections.
pub fn serve(addr: SocketAddr, fixtures: Fixtures) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // Thousands of clients connect at once in the memory workload.
        let listener = socket.listen(16 * 1024)?;
        println!("listening on {}", listener.local_addr()?);
        let state = Arc::new(State {
            fixtures,
            embeddings: Mutex::new(HashMap::new()),
        });
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, most likely: wait for some to close.
                    eprintln!("fake provider: accept: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(request, &state).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// What the server serves: the fixtures, and the embeddings replies built
/// so far, by (inputs, dimensions, base64).
struct State {
    fixtures: Fixtures,
    embeddings: Mutex<HashMap<(usize, usize, bool), Bytes>>,
}

#[derive(Deserialize, Default)]
struct BenchFields {
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    bench_chunks: Option<usize>,
    #[serde(default)]
    bench_delay_ms: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    OpenAi,
    Anthropic,
    /// Streamed or not, as the path says.
    Gemini {
        stream: bool,
    },
}

async fn handle(request: Request<Incoming>, state: &State) -> Response<Body> {
    let fixtures = &state.fixtures;
    let protocol = match (request.method(), request.uri().path()) {
        (&Method::POST, "/chat/completions" | "/v1/chat/completions") => Protocol::OpenAi,
        (&Method::POST, "/v1/messages") => Protocol::Anthropic,
        (&Method::POST, path)
            if path.starts_with("/models/") && path.ends_with(":generateContent") =>
        {
            Protocol::Gemini { stream: false }
        }
        (&Method::POST, path)
            if path.starts_with("/models/") && path.ends_with(":streamGenerateContent") =>
        {
            Protocol::Gemini { stream: true }
        }
        (&Method::POST, "/embeddings" | "/v1/embeddings") => {
            return embeddings(request, state).await;
        }
        (&Method::GET, "/health") => return json(StatusCode::OK, Bytes::from_static(b"{}")),
        _ => return error(StatusCode::NOT_FOUND, "not_found_error", "no such route"),
    };
    let authorized = match protocol {
        Protocol::OpenAi => request.headers().contains_key("authorization"),
        Protocol::Anthropic => {
            request.headers().contains_key("x-api-key")
                && request.headers().contains_key("anthropic-version")
        }
        Protocol::Gemini { .. } => request.headers().contains_key("x-goog-api-key"),
    };
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing credentials",
        );
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|body| body.to_bytes()) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "bad body");
    };
    let Ok(mut fields) = serde_json::from_slice::<BenchFields>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the body is not JSON",
        );
    };
    if let Protocol::Gemini { stream } = protocol {
        fields.stream = stream;
    }
    override_from(&mut fields, parts.uri.query(), &parts.headers);
    let (whole, frames) = match protocol {
        Protocol::OpenAi => (&fixtures.openai_json, &fixtures.openai_stream),
        Protocol::Anthropic => (&fixtures.anthropic_json, &fixtures.anthropic_stream),
        Protocol::Gemini { .. } => (&fixtures.gemini_json, &fixtures.gemini_stream),
    };
    if !fields.stream {
        return json(StatusCode::OK, whole.clone());
    }
    let body = SseBody::new(
        frames,
        fields.bench_chunks.unwrap_or(frames.body.len()),
        Duration::from_millis(fields.bench_delay_ms.unwrap_or(0)),
    );
    let mut response = Response::new(Either::Right(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

/// The part of an embeddings request the server reads.
#[derive(Deserialize)]
struct EmbeddingFields {
    input: Vec<IgnoredAny>,
    #[serde(default)]
    dimensions: Option<usize>,
    #[serde(default)]
    encoding_format: Option<String>,
}

async fn embeddings(request: Request<Incoming>, state: &State) -> Response<Body> {
    if !request.headers().contains_key("authorization") {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "missing credentials",
        );
    }
    let Ok(body) = request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
    else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "bad body");
    };
    let Ok(fields) = serde_json::from_slice::<EmbeddingFields>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "not an embeddings request",
        );
    };
    let key = (
        fields.input.len(),
        fields.dimensions.unwrap_or(1536),
        fields.encoding_format.as_deref() == Some("base64"),
    );
    let mut built = state
        .embeddings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let reply = built
        .entry(key)
        .or_insert_with(|| embeddings_reply(&state.fixtures, key.0, key.1, key.2))
        .clone();
    json(StatusCode::OK, reply)
}

/// An OpenAI embeddings reply: `inputs` vectors of `dimensions` numbers,
/// the recorded ones in turn (each vector starting one number further), and
/// 8 prompt tokens an input.
fn embeddings_reply(fixtures: &Fixtures, inputs: usize, dimensions: usize, base64: bool) -> Bytes {
    let numbers = &fixtures.embedding_numbers;
    let mut out = String::from(r#"{"object":"list","data":["#);
    for index in 0..inputs {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"object":"embedding","index":{index},"embedding":"#
        ));
        let values = (0..dimensions).map(|at| &numbers[(index + at) % numbers.len()]);
        if base64 {
            let bytes: Vec<u8> = values.flat_map(|(_, value)| value.to_le_bytes()).collect();
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            out.push('"');
        } else {
            out.push('[');
            for (at, (text, _)) in values.enumerate() {
                if at > 0 {
                    out.push(',');
                }
                out.push_str(text);
            }
            out.push(']');
        }
        out.push('}');
    }
    let tokens = inputs * 8;
    out.push_str(&format!(
        r#"],"model":"text-embedding-3-small","usage":{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}}}"#
    ));
    Bytes::from(out)
}

/// Query parameters, then headers, win over body fields.
fn override_from(fields: &mut BenchFields, query: Option<&str>, headers: &HeaderMap) {
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("chunks", value)) => fields.bench_chunks = value.parse().ok(),
            Some(("delay_ms", value)) => fields.bench_delay_ms = value.parse().ok(),
            Some(("stream", value)) => fields.stream = value == "true",
            _ => {}
        }
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
    };
    if let Some(chunks) = header("x-bench-chunks") {
        fields.bench_chunks = Some(chunks as usize);
    }
    if let Some(delay) = header("x-bench-delay-ms") {
        fields.bench_delay_ms = Some(delay);
    }
}

fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": message}});
    json(status, Bytes::from(body.to_string()))
}

/// A streamed reply: head events, `chunks` content events (with a delay
/// between two), tail events. One HTTP chunk per event.
pub struct SseBody {
    frames: StreamFrames,
    chunks: usize,
    delay: Duration,
    /// Index of the next event in head + chunks + tail.
    next: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SseBody {
    fn new(frames: &StreamFrames, chunks: usize, delay: Duration) -> SseBody {
        SseBody {
            // Clones of `Bytes`: reference counts, not copies.
            frames: frames.clone(),
            chunks,
            delay,
            next: 0,
            sleep: None,
        }
    }
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        let head = this.frames.head.len();
        let index = this.next;
        let data = if index < head {
            this.frames.head[index].clone()
        } else if index < head + this.chunks {
            let chunk = index - head;
            if chunk > 0 && !this.delay.is_zero() {
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(this.delay)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            this.frames.body[chunk % this.frames.body.len()].clone()
        } else {
            match this.frames.tail.get(index - head - this.chunks) {
                Some(frame) => frame.clone(),
                None => return Poll::Ready(None),
            }
        };
        this.next += 1;
        Poll::Ready(Some(Ok(Frame::data(data))))
    }
}

/// The fake provider, running in a child process; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `exe serve 127.0.0.1:0` (`exe` is this crate's binary), on
    /// CPU `cpu` alone if given, and waits until it listens.
    pub fn spawn(exe: &Path, cpu: Option<usize>) -> Result<ServerProcess, String> {
        let mut command = Command::new(exe);
        command.args(["serve", "127.0.0.1:0"]);
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {} serve: {error}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok());
        match (read, addr) {
            (Ok(_), Some(addr)) => Ok(ServerProcess { child, addr }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "the fake provider did not start (it said {line:?})"
                ))
            }
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
