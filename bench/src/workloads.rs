//! The workloads, each written once over [`Client`], which is llmax or the
//! floor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llmax::{
    ChatStream, Deployment, EmbeddingEncoding, Message, Model, MultiAIClient, Provider, Strategy,
};
use serde::{Deserialize, Serialize};

use crate::floor::Floor;
use crate::measure;
use crate::{BoxError, CONVERSATION, Streamed};

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// llmax's `MultiAIClient`.
    Llmax,
    /// reqwest + serde_json by hand.
    Floor,
}

impl Impl {
    /// `llmax` or `floor`.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Llmax => "llmax",
            Impl::Floor => "floor",
        }
    }

    /// Parses [`Impl::name`].
    pub fn parse(name: &str) -> Option<Impl> {
        match name {
            "llmax" => Some(Impl::Llmax),
            "floor" => Some(Impl::Floor),
            _ => None,
        }
    }
}

/// Which wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// OpenAI chat completions (`gpt-4o` on `openai`).
    OpenAi,
    /// Anthropic Messages (`claude-4.5-sonnet` on `anthropic`).
    Anthropic,
    /// Gemini `generateContent` (`gemini-2.5-flash` on `gemini`).
    Gemini,
}

impl Proto {
    /// Every protocol, in the order of the report.
    pub const ALL: [Proto; 3] = [Proto::OpenAi, Proto::Anthropic, Proto::Gemini];

    /// `openai`, `anthropic` or `gemini`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::OpenAi => "openai",
            Proto::Anthropic => "anthropic",
            Proto::Gemini => "gemini",
        }
    }

    /// Parses [`Proto::name`].
    pub fn parse(name: &str) -> Option<Proto> {
        match name {
            "openai" => Some(Proto::OpenAi),
            "anthropic" => Some(Proto::Anthropic),
            "gemini" => Some(Proto::Gemini),
            _ => None,
        }
    }

    /// The model the fake provider serves for this protocol.
    pub fn model(self) -> Model {
        match self {
            Proto::OpenAi => Model::Gpt4o,
            Proto::Anthropic => Model::Claude4_5Sonnet,
            Proto::Gemini => Model::Gemini2_5Flash,
        }
    }
}

/// The embedding model of the embeddings workload.
pub const EMBEDDING_MODEL: Model = llmax::model!("text-embedding-3-small");

/// The llmax client of the fake provider at `base`: `gpt-4o` on OpenAI,
/// `claude-4.5-sonnet` on Anthropic, `gemini-2.5-flash` on Gemini and
/// [`EMBEDDING_MODEL`] on OpenAI, default options.
pub fn llmax_client(base: &str) -> MultiAIClient {
    MultiAIClient::new(deployments(base)).expect("valid deployments")
}

/// [`llmax_client`] with usage hooks (workload 8: a ledger).
pub fn llmax_client_with(base: &str, hooks: impl llmax::UsageHooks) -> MultiAIClient {
    MultiAIClient::builder()
        .deployments(deployments(base))
        .hooks(hooks)
        .build()
        .expect("valid deployments")
}

fn deployments(base: &str) -> [Deployment; 4] {
    [
        Deployment::new(Model::Gpt4o, Provider::OpenAi)
            .endpoint(base)
            .api_key("sk-bench"),
        Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
            .endpoint(base)
            .api_key("sk-ant-bench"),
        Deployment::new(Model::Gemini2_5Flash, Provider::Gemini)
            .endpoint(base)
            .api_key("g-bench"),
        Deployment::new(EMBEDDING_MODEL, Provider::OpenAi)
            .endpoint(base)
            .api_key("sk-bench"),
    ]
}

/// Workload 8's client: like [`llmax_client`], with each chat model on
/// three deployments (three labels, the same fake provider), picked by
/// `strategy`.
pub fn llmax_routed_client(base: &str, strategy: Strategy) -> MultiAIClient {
    let mut builder = MultiAIClient::builder().strategy(strategy);
    for region in ["sweden", "france", "us"] {
        builder = builder
            .deployment(
                Deployment::new(Model::Gpt4o, Provider::OpenAi)
                    .endpoint(base)
                    .api_key("sk-bench")
                    .label(format!("openai-{region}")),
            )
            .deployment(
                Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
                    .endpoint(base)
                    .api_key("sk-ant-bench")
                    .label(format!("anthropic-{region}")),
            );
    }
    builder.build().expect("valid deployments")
}

/// How the vectors of the embeddings workload travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON numbers (the API's default).
    Float,
    /// Base64 of little-endian `f32`s.
    Base64,
}

impl Encoding {
    /// `float` or `base64`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Float => "float",
            Encoding::Base64 => "base64",
        }
    }
}

/// The inputs of each embeddings call: `count` short documents.
pub fn embedding_inputs(count: usize) -> Arc<[String]> {
    (0..count)
        .map(|n| format!("Document {n}: {}", CONVERSATION.user))
        .collect()
}

/// What was read from embeddings replies: vectors, numbers, input tokens.
fn embedded(vectors: &[Vec<f32>], tokens: u64) -> Streamed {
    Streamed {
        content_chunks: vectors.len(),
        bytes: vectors.iter().map(Vec::len).sum(),
        output_tokens: Some(tokens),
    }
}

/// [`CONVERSATION`] as llmax messages.
pub fn llmax_messages() -> Vec<Message> {
    vec![
        Message::system(CONVERSATION.system),
        Message::user(CONVERSATION.user),
    ]
}

/// llmax or the floor, ready to call the fake provider.
#[derive(Clone)]
pub enum Client {
    /// llmax.
    Llmax {
        /// The client.
        client: MultiAIClient,
        /// The messages of every call.
        messages: Arc<[Message]>,
    },
    /// The floor (shared, as llmax's client is an `Arc` inside).
    Floor(Arc<Floor>),
}

/// A stream whose headers have arrived, not read yet.
pub enum OpenStream {
    /// llmax's stream.
    Llmax(ChatStream),
    /// The floor's response.
    Floor(Proto, reqwest::Response),
}

impl Client {
    /// llmax with three deployments per chat model (workload 8).
    pub fn routed(base: &str, strategy: Strategy) -> Client {
        Client::Llmax {
            client: llmax_routed_client(base, strategy),
            messages: llmax_messages().into(),
        }
    }

    /// llmax with these usage hooks, calling the fake provider at `base`.
    pub fn with_hooks(base: &str, hooks: impl llmax::UsageHooks) -> Client {
        Client::Llmax {
            client: llmax_client_with(base, hooks),
            messages: llmax_messages().into(),
        }
    }

    /// A client of the fake provider at `base`.
    pub fn new(which: Impl, base: &str) -> Client {
        match which {
            Impl::Llmax => Client::Llmax {
                client: llmax_client(base),
                messages: llmax_messages().into(),
            },
            Impl::Floor => Client::Floor(Arc::new(Floor::new(base))),
        }
    }

    /// One non-streamed call; returns the answer's length.
    pub async fn call(&self, proto: Proto) -> Result<usize, BoxError> {
        match self {
            Client::Llmax { client, messages } => {
                let response = client.ainvoke(messages, proto.model()).await?;
                Ok(response.content().map_or(0, str::len))
            }
            Client::Floor(floor) => {
                let answer = match proto {
                    Proto::OpenAi => floor.openai(&CONVERSATION).await?,
                    Proto::Anthropic => floor.anthropic(&CONVERSATION).await?,
                    Proto::Gemini => floor.gemini(&CONVERSATION).await?,
                };
                Ok(answer.text.len())
            }
        }
    }

    /// One embeddings call of `inputs`; returns what it read.
    pub async fn embed(&self, inputs: &[String], encoding: Encoding) -> Result<Streamed, BoxError> {
        match self {
            Client::Llmax { client, .. } => {
                let mut call = client.aembed(inputs, EMBEDDING_MODEL);
                if encoding == Encoding::Base64 {
                    call = call.encoding(EmbeddingEncoding::Base64);
                }
                let response = call.await?;
                Ok(embedded(&response.embeddings, response.usage.input_tokens))
            }
            Client::Floor(floor) => {
                let reply = floor
                    .embeddings(inputs, encoding == Encoding::Base64)
                    .await?;
                Ok(embedded(&reply.vectors, reply.tokens))
            }
        }
    }

    /// Starts a stream of `chunks` content chunks, `delay_ms` apart.
    pub async fn open(
        &self,
        proto: Proto,
        chunks: usize,
        delay_ms: u64,
    ) -> Result<OpenStream, BoxError> {
        match self {
            Client::Llmax { client, messages } => {
                let mut call = client
                    .astream(messages, proto.model())
                    .extra("bench_chunks", chunks);
                if delay_ms > 0 {
                    call = call.extra("bench_delay_ms", delay_ms);
                }
                Ok(OpenStream::Llmax(call.await?))
            }
            Client::Floor(floor) => {
                let response = match proto {
                    Proto::OpenAi => floor.openai_open(&CONVERSATION, chunks, delay_ms).await?,
                    Proto::Anthropic => {
                        floor
                            .anthropic_open(&CONVERSATION, chunks, delay_ms)
                            .await?
                    }
                    Proto::Gemini => floor.gemini_open(&CONVERSATION, chunks, delay_ms).await?,
                };
                Ok(OpenStream::Floor(proto, response))
            }
        }
    }

    /// A whole streamed call.
    pub async fn stream(
        &self,
        proto: Proto,
        chunks: usize,
        delay_ms: u64,
    ) -> Result<Streamed, BoxError> {
        self.open(proto, chunks, delay_ms).await?.read().await
    }
}

impl OpenStream {
    /// Reads the stream to its end.
    pub async fn read(self) -> Result<Streamed, BoxError> {
        match self {
            OpenStream::Llmax(mut stream) => {
                let mut streamed = Streamed::default();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    if let Some(text) = &chunk.content {
                        streamed.content_chunks += 1;
                        streamed.bytes += text.len();
                    }
                    if let Some(usage) = chunk.usage {
                        streamed.output_tokens = Some(usage.output_tokens);
                    }
                }
                Ok(streamed)
            }
            OpenStream::Floor(Proto::OpenAi, response) => Floor::openai_read(response).await,
            OpenStream::Floor(Proto::Anthropic, response) => Floor::anthropic_read(response).await,
            OpenStream::Floor(Proto::Gemini, response) => Floor::gemini_read(response).await,
        }
    }
}

/// What one measured run did and cost.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Client CPU time, all threads.
    pub cpu: Duration,
    /// Wall time.
    pub wall: Duration,
    /// Units of work (calls, or chunks).
    pub units: usize,
    /// A checksum of what was read, equal for llmax and the floor.
    pub check: Streamed,
}

impl Run {
    /// CPU microseconds per unit.
    pub fn cpu_us_per_unit(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.units as f64
    }
}

/// `total` non-streamed calls, `in_flight` at a time (one task each).
pub async fn calls(
    client: &Client,
    proto: Proto,
    total: usize,
    in_flight: usize,
) -> Result<Streamed, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..in_flight.min(total))
        .map(|_| {
            let client = client.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut read = Streamed::default();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let len = client.call(proto).await?;
                    read.add(Streamed {
                        content_chunks: 1,
                        bytes: len,
                        output_tokens: None,
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

/// `total` sequential embeddings calls of `inputs`.
pub async fn embed_calls(
    client: &Client,
    total: usize,
    inputs: &[String],
    encoding: Encoding,
) -> Result<Streamed, BoxError> {
    let mut read = Streamed::default();
    for _ in 0..total {
        read.add(client.embed(inputs, encoding).await?);
    }
    Ok(read)
}

/// `total` streamed calls of `chunks` chunks, `in_flight` at a time.
pub async fn streams(
    client: &Client,
    proto: Proto,
    total: usize,
    in_flight: usize,
    chunks: usize,
) -> Result<Streamed, BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..in_flight.min(total))
        .map(|_| {
            let client = client.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut read = Streamed::default();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    read.add(client.stream(proto, chunks, 0).await?);
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

/// Runs `work` on `runtime` and measures the process's CPU time around it.
pub fn measured<F>(
    runtime: &tokio::runtime::Runtime,
    units: usize,
    work: F,
) -> Result<Run, BoxError>
where
    F: Future<Output = Result<Streamed, BoxError>>,
{
    let cpu = measure::cpu_time();
    let started = Instant::now();
    let check = runtime.block_on(work)?;
    Ok(Run {
        cpu: measure::cpu_time() - cpu,
        wall: started.elapsed(),
        units,
        check,
    })
}

/// What a memory child reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Resident memory before the streams, KiB.
    pub base_kib: u64,
    /// Peak resident memory of the process, KiB.
    pub peak_kib: u64,
    /// Streams opened.
    pub streams: usize,
    /// Most streams open at once.
    pub max_open: usize,
    /// Content chunks read in all.
    pub content_chunks: usize,
    /// Wall time of the whole workload, seconds.
    pub wall_s: f64,
}

/// Workload 4, in a child process of its own: `streams` streams of `chunks`
/// chunks `delay_ms` apart, each read by a task of its own as its chunks
/// come. All are open at once when opening them all takes less time than a
/// stream lasts (`max_open` tells).
pub fn memory(
    which: Impl,
    base: &str,
    streams: usize,
    chunks: usize,
    delay_ms: u64,
) -> Result<MemoryReport, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = Client::new(which, base);
    // Warm up: lazily built state (the TLS roots, the pool) is not a stream's.
    runtime.block_on(client.stream(Proto::OpenAi, 2, 0))?;
    let base_kib = measure::rss_kib();
    let started = Instant::now();
    let open = Arc::new(AtomicUsize::new(0));
    let max_open = Arc::new(AtomicUsize::new(0));
    let read = runtime.block_on(async {
        // Connections are opened a few hundred at a time, as a burst of
        // thousands of SYNs overflows the listen queue and waits for a
        // retransmission.
        let opening = Arc::new(tokio::sync::Semaphore::new(256));
        let tasks: Vec<_> = (0..streams)
            .map(|_| {
                let client = client.clone();
                let opening = opening.clone();
                let open = open.clone();
                let max_open = max_open.clone();
                tokio::spawn(async move {
                    let permit = opening.acquire_owned().await;
                    let stream = client.open(Proto::OpenAi, chunks, delay_ms).await;
                    drop(permit);
                    if stream.is_ok() {
                        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                        max_open.fetch_max(now, Ordering::SeqCst);
                    }
                    let read = stream?.read().await;
                    open.fetch_sub(1, Ordering::SeqCst);
                    read
                })
            })
            .collect();
        let mut read = Streamed::default();
        for task in tasks {
            read.add(task.await??);
        }
        Ok::<_, BoxError>(read)
    })?;
    Ok(MemoryReport {
        base_kib,
        peak_kib: measure::peak_rss_kib(),
        streams,
        max_open: max_open.load(Ordering::SeqCst),
        content_chunks: read.content_chunks,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// What a blocking child reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockingReport {
    /// Threads before the first call.
    pub threads_before: usize,
    /// Threads after the first call.
    pub threads_after_first: usize,
    /// Most threads seen after later calls (every 64th).
    pub threads_max: usize,
    /// Threads after the last call.
    pub threads_after: usize,
    /// Process ids handed out by the kernel (to anyone) during the later
    /// calls: a thread per call would make it at least one per call.
    pub pids_allocated: Option<u64>,
    /// Calls after the first.
    pub calls: usize,
    /// CPU microseconds per call, after the first.
    pub cpu_us_per_call: f64,
}

/// Workload 6, in a child process with no runtime: blocking calls in a loop.
/// llmax's `invoke`; the floor's is a current-thread runtime made once and a
/// `block_on` per call.
pub fn blocking(which: Impl, base: &str, calls: usize) -> Result<BlockingReport, BoxError> {
    let threads_before = measure::threads();
    let mut call: Box<dyn FnMut() -> Result<usize, BoxError>> = match which {
        Impl::Llmax => {
            let client = llmax_client(base);
            let messages = llmax_messages();
            Box::new(move || {
                let response = client.invoke(&messages, Model::Gpt4o)?;
                Ok(response.content().map_or(0, str::len))
            })
        }
        Impl::Floor => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let floor = Floor::new(base);
            Box::new(move || {
                let answer = runtime.block_on(floor.openai(&CONVERSATION))?;
                Ok(answer.text.len())
            })
        }
    };
    call()?;
    let threads_after_first = measure::threads();
    let mut threads_max = threads_after_first;
    let pids = measure::last_pid();
    let cpu = measure::cpu_time();
    for n in 1..calls {
        call()?;
        // Sampled: reading /proc costs about as much as a call.
        if n % 64 == 0 {
            threads_max = threads_max.max(measure::threads());
        }
    }
    let cpu = measure::cpu_time() - cpu;
    let pids_allocated = match (pids, measure::last_pid()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    Ok(BlockingReport {
        threads_before,
        threads_after_first,
        threads_max,
        threads_after: measure::threads(),
        pids_allocated,
        calls: calls - 1,
        cpu_us_per_call: cpu.as_secs_f64() * 1e6 / (calls - 1).max(1) as f64,
    })
}
