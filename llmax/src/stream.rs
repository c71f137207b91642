//! Streams of chunks: SSE framing, idle timeouts and exactly-once usage
//! accounting, the same for every protocol.
//!
//! [`Live`]'s polling runs once or twice per streamed chunk and is written
//! for that: measured with callgrind against a minimal reqwest + serde_json
//! client (`llmax-bench profile 3`), a queue of decoded chunks and a timer
//! poll per read cost about 300 instructions and several cache misses per
//! chunk; see [`Live`] for what it does instead.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::catalog::Price;
use crate::error::{Error, Result, TimeoutPhase};
use crate::protocol::{Flow, StreamDecoder};
use crate::response::{StreamChunk, Usage};
use crate::sse::Framer;
use crate::usage::{UsageHooks, UsageRecord};

/// The largest SSE event llmax buffers; a peer sending more without ending
/// an event gets a decode error instead of all the memory.
pub(crate) const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;
/// The longest SSE line llmax buffers (one `data:` line holds one chunk).
pub(crate) const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// A stream of [`StreamChunk`]s from [`MultiAIClient::astream`](crate::MultiAIClient::astream).
///
/// It ends after the provider's end marker (`[DONE]`, `message_stop`), or
/// with one error item if the stream is cut, stalls longer than the idle
/// timeout, or carries an error event. The call's usage is reported to the
/// `increment_usage` hook exactly once: when the stream ends, or when it is
/// dropped early.
///
/// ```no_run
/// # async fn run(client: llmax::MultiAIClient) -> llmax::Result<()> {
/// use futures_util::StreamExt;
/// use llmax::{Message, Model};
///
/// let messages = [Message::user("Tell me a joke.")];
/// let mut stream = client.astream(&messages, Model::Gpt4o).await?;
/// while let Some(chunk) = stream.next().await {
///     if let Some(text) = chunk?.content {
///         print!("{text}");
///     }
/// }
/// # Ok(()) }
/// ```
pub struct ChatStream {
    inner: BoxStream<'static, Result<StreamChunk>>,
}

impl ChatStream {
    pub(crate) fn new(
        inner: impl Stream<Item = Result<StreamChunk>> + Send + 'static,
    ) -> ChatStream {
        ChatStream {
            inner: Box::pin(inner),
        }
    }

    /// Reads the whole stream and returns its answer text.
    pub async fn collect_text(mut self) -> Result<String> {
        use futures_util::StreamExt;
        let mut text = String::new();
        while let Some(chunk) = self.next().await {
            if let Some(content) = chunk?.content {
                text.push_str(&content);
            }
        }
        Ok(text)
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream").finish_non_exhaustive()
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// What a call needs to report its usage once.
pub(crate) struct Accounting {
    pub hooks: Arc<dyn UsageHooks>,
    pub model: &'static str,
    pub provider: &'static str,
    pub operation: String,
    pub price: Price,
    pub started: Instant,
    pub attempts: u32,
    pub time_to_first_token: Option<Duration>,
}

impl Accounting {
    pub fn record(&self, usage: Usage, succeeded: bool) -> UsageRecord {
        UsageRecord {
            cost: usage.cost(&self.price),
            model: self.model,
            provider: self.provider,
            operation: self.operation.clone(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            duration: self.started.elapsed(),
            time_to_first_token: self.time_to_first_token,
            attempts: self.attempts,
            succeeded,
        }
    }

    /// The future that reports the record; owns everything it needs.
    pub fn report(self, usage: Usage, succeeded: bool) -> BoxFuture<'static, ()> {
        let record = self.record(usage, succeeded);
        let hooks = self.hooks;
        Box::pin(async move { hooks.increment_usage(record).await })
    }
}

/// A live SSE stream being decoded.
///
/// Its polling is the per-chunk path of every stream, measured with
/// callgrind in the benchmark suite (`llmax-bench profile 3`) against a
/// hand-written reqwest + serde_json client. What it does not do, and why:
/// - no queue of decoded chunks: an event is decoded only when the chunks of
///   the one before are out, into a `Vec` read from its end (a `VecDeque`
///   behind a scratch `Vec` moved each chunk twice more);
/// - no timer poll per read: the idle timer is polled again only when it
///   fired or the task polling the stream changed (tokio's `Sleep::poll`
///   re-registers the waker each time: about 100 instructions and 3 cache
///   misses per chunk, as reads alternate with `Pending`).
pub(crate) struct Live {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    framer: Framer,
    body_done: bool,
    decoder: Box<dyn StreamDecoder>,
    provider: &'static str,
    idle: Duration,
    /// When bytes last arrived; the idle timer is moved to `last + idle`
    /// only when it fires, so that no timer is reset per read.
    last_activity: tokio::time::Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The waker `sleep` holds, once polled: while the same task polls the
    /// stream and the timer has not fired, there is no need to poll it.
    sleep_waker: Option<Waker>,
    /// The chunks of the last event not yet handed out, last first.
    ready: Vec<StreamChunk>,
    accounting: Option<Accounting>,
    report: Option<BoxFuture<'static, ()>>,
    final_error: Option<Error>,
    finished: bool,
    saw_finish: bool,
}

impl Live {
    pub fn new(
        body: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
        decoder: Box<dyn StreamDecoder>,
        provider: &'static str,
        idle: Duration,
        accounting: Accounting,
    ) -> Live {
        Live {
            body: Box::pin(body),
            framer: Framer::new(MAX_LINE_BYTES, MAX_EVENT_BYTES),
            body_done: false,
            decoder,
            provider,
            idle,
            last_activity: tokio::time::Instant::now(),
            sleep: Box::pin(tokio::time::sleep(idle)),
            sleep_waker: None,
            ready: Vec::new(),
            accounting: Some(accounting),
            report: None,
            final_error: None,
            finished: false,
            saw_finish: false,
        }
    }

    /// Decodes the next event the bytes received so far complete, if any:
    /// whether there was one.
    fn decode_next(&mut self) -> bool {
        let event = match self.framer.next(self.body_done) {
            Ok(Some(event)) => event,
            Ok(None) => return false,
            Err(error) => {
                let error = Error::decode(self.provider, error.to_string(), self.framer.pending());
                self.fail(error);
                return true;
            }
        };
        match self.decoder.decode(event.0, event.1, &mut self.ready) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Done) => self.finished = true,
            Err(error) => self.fail(error),
        }
        // Handed out from the end (most events make one chunk or none).
        if self.ready.len() > 1 {
            self.ready.reverse();
        }
        true
    }

    /// Costs a chunk about to be handed out, and times the first token.
    fn account(&mut self, chunk: &mut StreamChunk) {
        if chunk.finish_reason.is_some() {
            self.saw_finish = true;
        }
        let Some(accounting) = self.accounting.as_mut() else {
            return;
        };
        if let Some(usage) = chunk.usage {
            chunk.cost = Some(usage.cost(&accounting.price));
        }
        if accounting.time_to_first_token.is_none()
            && (chunk.content.is_some()
                || chunk.reasoning.is_some()
                || !chunk.tool_calls.is_empty())
        {
            accounting.time_to_first_token = Some(accounting.started.elapsed());
        }
    }

    fn fail(&mut self, error: Error) {
        self.finished = true;
        if self.final_error.is_none() {
            self.final_error = Some(error);
        }
    }

    fn interrupted(&self, reason: impl Into<String>) -> Error {
        Error::StreamInterrupted {
            provider: self.provider,
            reason: reason.into(),
            usage: self.decoder.usage(),
        }
    }

    /// Nothing to read: waits for bytes or the idle timeout. `Ready` when
    /// the stream failed or the timer must be polled again.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let registered = self
            .sleep_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if registered && !self.sleep.is_elapsed() {
            return Poll::Pending;
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            if !registered {
                self.sleep_waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        // Fired: its waker is spent.
        self.sleep_waker = None;
        let deadline = self.last_activity + self.idle;
        if deadline > tokio::time::Instant::now() {
            // Bytes came since the timer was set: wait the rest.
            self.sleep.as_mut().reset(deadline);
        } else {
            self.fail(Error::Timeout {
                phase: TimeoutPhase::StreamIdle,
                after: self.idle,
            });
        }
        Poll::Ready(())
    }
}

impl Stream for Live {
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(mut chunk) = this.ready.pop() {
                this.account(&mut chunk);
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.finished {
                if let Some(accounting) = this.accounting.take() {
                    let usage = this.decoder.usage().unwrap_or_default();
                    this.report = Some(accounting.report(usage, this.final_error.is_none()));
                }
                if let Some(report) = this.report.as_mut() {
                    ready!(report.as_mut().poll(cx));
                    this.report = None;
                }
                return Poll::Ready(this.final_error.take().map(Err));
            }
            if this.decode_next() {
                continue;
            }
            if this.body_done {
                // Every event is out and the body is over.
                this.finished = true;
                // Some servers close without an end marker after the last
                // choice finished: that is a complete answer.
                if !this.saw_finish {
                    let error =
                        this.interrupted("the connection closed before the end of the stream");
                    this.final_error = Some(error);
                }
                continue;
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    this.last_activity = tokio::time::Instant::now();
                    this.framer.feed(bytes);
                }
                Poll::Ready(Some(Err(source))) => {
                    let error = if source.is_timeout() {
                        Error::Timeout {
                            phase: TimeoutPhase::Request,
                            after: this.idle,
                        }
                    } else {
                        this.interrupted(format!("connection error: {source}"))
                    };
                    this.fail(error);
                }
                Poll::Ready(None) => this.body_done = true,
                Poll::Pending => ready!(this.wait(cx)),
            }
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Dropped before the end: the call still reached the provider, so
        // it is still reported, with the usage known so far.
        let report = match (self.accounting.take(), self.report.take()) {
            (Some(accounting), _) => {
                let usage = self.decoder.usage().unwrap_or_default();
                accounting.report(usage, false)
            }
            (None, Some(report)) => report,
            (None, None) => return,
        };
        spawn_report(report);
    }
}

/// Chunks known in advance (the mock provider), accounted like a live
/// stream: once at the end, or once when dropped early.
pub(crate) struct Replay {
    chunks: VecDeque<StreamChunk>,
    usage: Usage,
    accounting: Option<Accounting>,
    report: Option<BoxFuture<'static, ()>>,
}

impl Replay {
    pub fn new(chunks: Vec<StreamChunk>, usage: Usage, accounting: Accounting) -> Replay {
        Replay {
            chunks: chunks.into(),
            usage,
            accounting: Some(accounting),
            report: None,
        }
    }
}

impl Stream for Replay {
    type Item = Result<StreamChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(chunk) = this.chunks.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(accounting) = this.accounting.take() {
            this.report = Some(accounting.report(this.usage, true));
        }
        if let Some(report) = this.report.as_mut() {
            ready!(report.as_mut().poll(cx));
            this.report = None;
        }
        Poll::Ready(None)
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let report = match (self.accounting.take(), self.report.take()) {
            // Dropped before the end: only what was read counts as sent.
            (Some(accounting), _) => accounting.report(self.usage, false),
            (None, Some(report)) => report,
            (None, None) => return,
        };
        spawn_report(report);
    }
}

/// Runs a report that can no longer be awaited by its caller.
pub(crate) fn spawn_report(report: BoxFuture<'static, ()>) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(report);
        }
        Err(_) => {
            // No runtime (a stream dropped after its runtime shut down):
            // run the hook inline; hooks that need a runtime cannot run.
            let _ = futures_util::FutureExt::now_or_never(report);
        }
    }
}
