//! Streams of chunks: SSE framing, idle timeouts and exactly-once usage
//! accounting, the same for every protocol.
//!
//! [`Live`]'s polling runs once or twice per streamed chunk and is written
//! for that: measured with callgrind against a minimal reqwest + serde_json
//! client (`llmax-bench profile 3`), a queue of decoded chunks and a timer
//! poll per read cost about 300 instructions and several cache misses per
//! chunk; see [`Live`] for what it does instead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::engine::Accounting;
use crate::error::{Error, Result, TimeoutPhase};
use crate::protocol::{Flow, StreamDecoder};
use crate::response::StreamChunk;
use crate::sse::Framer;
use crate::transport::ByteStream;

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
    body: ByteStream,
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
    /// Set by the engine until the first chunk: an error then is handed
    /// out with the accounting kept, for the engine to try elsewhere.
    hold: bool,
}

impl Live {
    pub fn new(
        body: ByteStream,
        decoder: Box<dyn StreamDecoder>,
        provider: &'static str,
        idle: Duration,
        accounting: Accounting,
    ) -> Live {
        Live {
            body,
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
            hold: false,
        }
    }

    /// Until [`release`](Self::release) or [`rearm`](Self::rearm), an error
    /// is handed out without accounting the call.
    pub fn hold(&mut self) {
        self.hold = true;
    }

    /// The first chunk came: it is handed out again first, and from now on
    /// the stream accounts itself.
    pub fn release(&mut self, chunk: StreamChunk) {
        self.hold = false;
        self.ready.push(chunk);
    }

    /// Takes the accounting back from a stream that failed while held.
    pub fn reclaim(&mut self) -> Option<Accounting> {
        self.accounting.take()
    }

    /// The usage the provider reported so far.
    pub fn usage(&self) -> Option<crate::response::Usage> {
        self.decoder.usage()
    }

    /// Nothing else to try: the stream is handed over as it failed, its
    /// error its next item, accounted then.
    pub fn rearm(&mut self, error: Error, accounting: Accounting) {
        self.accounting = Some(accounting);
        self.rearm_error(error);
    }

    /// Like [`rearm`](Self::rearm), the accounting still in the stream.
    pub fn rearm_error(&mut self, error: Error) {
        self.hold = false;
        self.finished = true;
        self.final_error = Some(error);
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
            Ok(Flow::Done) => {
                self.finished = true;
                self.refuse_trailing_event();
            }
            Err(error) => self.fail(error),
        }
        // Handed out from the end (most events make one chunk or none).
        if self.ready.len() > 1 {
            self.ready.reverse();
        }
        true
    }

    /// After the provider's end marker nothing may follow: an event already
    /// received behind it (another message, say) makes the stream a decode
    /// error instead of being dropped unseen. Only bytes already read are
    /// looked at; the stream does not wait for more after its end.
    fn refuse_trailing_event(&mut self) {
        let error = match self.framer.next(self.body_done) {
            Ok(None) => return,
            Ok(Some((kind, data))) => Error::decode(
                self.provider,
                format!("a `{kind}` event after the end of the stream"),
                data.as_bytes(),
            ),
            Err(error) => Error::decode(
                self.provider,
                format!("after the end of the stream: {error}"),
                self.framer.pending(),
            ),
        };
        self.fail(error);
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
            chunk.model = Some(accounting.model);
        } else if chunk.finish_reason.is_some() {
            chunk.model = Some(accounting.model);
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
                if this.hold && this.final_error.is_some() {
                    return Poll::Ready(this.final_error.take().map(Err));
                }
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
                    let error = this.interrupted(format!("connection error: {source}"));
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

/// The audio of [`MultiAIClient::astream_speech`](crate::MultiAIClient::astream_speech)
/// (or [`TextToSpeech::stream`](crate::TextToSpeech::stream)), as it
/// arrives: chunks of the encoded audio, in order, to be written or played
/// one after the other.
///
/// It ends when the provider has sent all the audio, or with one error item
/// if the connection is cut or stalls longer than the idle timeout. The
/// call is reported to the `increment_usage` hook exactly once: when the
/// stream ends, or when it is dropped early. The record carries the input's
/// characters whatever happened (the provider bills the text once it took
/// the request), and `succeeded` says whether all the audio came.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> llmax::Result<()> {
/// use futures_util::StreamExt;
/// use llmax::{Deployment, MultiAIClient, Provider};
///
/// let client = MultiAIClient::new([Deployment::new(llmax::model!("tts-1"), Provider::Mock)])?;
/// let mut stream = client.astream_speech("A long text.", llmax::model!("tts-1")).await?;
/// let mut audio = Vec::new();
/// while let Some(chunk) = stream.next().await {
///     audio.extend_from_slice(&chunk?);
/// }
/// assert!(!audio.is_empty());
/// # Ok(()) }
/// ```
pub struct SpeechStream {
    inner: AudioBytes,
}

impl SpeechStream {
    pub(crate) fn new(inner: AudioBytes) -> SpeechStream {
        SpeechStream { inner }
    }

    /// Reads the whole stream into one buffer.
    pub async fn collect_bytes(mut self) -> Result<Vec<u8>> {
        use futures_util::StreamExt;
        let mut audio = Vec::new();
        while let Some(chunk) = self.next().await {
            audio.extend_from_slice(&chunk?);
        }
        Ok(audio)
    }
}

impl std::fmt::Debug for SpeechStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechStream").finish_non_exhaustive()
    }
}

impl Stream for SpeechStream {
    type Item = Result<bytes::Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// A live body of raw bytes (audio), passed on as it comes, with the idle
/// timeout and the exactly-once accounting of [`Live`], but no framing nor
/// decoding: the usage is known before the first byte.
pub(crate) struct AudioBytes {
    body: ByteStream,
    provider: &'static str,
    usage: crate::response::Usage,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    accounting: Option<Accounting>,
    report: Option<BoxFuture<'static, ()>>,
    final_error: Option<Error>,
}

impl AudioBytes {
    pub fn new(
        body: ByteStream,
        provider: &'static str,
        usage: crate::response::Usage,
        idle: Duration,
        accounting: Accounting,
    ) -> AudioBytes {
        AudioBytes {
            body,
            provider,
            usage,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            accounting: Some(accounting),
            report: None,
            final_error: None,
        }
    }

    /// Ends the stream: starts the report (once) and keeps the error, if
    /// any, for after it.
    fn finish(&mut self, error: Option<Error>) {
        if let Some(accounting) = self.accounting.take() {
            self.report = Some(accounting.report(self.usage, error.is_none()));
        }
        self.final_error = error;
    }
}

impl Stream for AudioBytes {
    type Item = Result<bytes::Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.accounting.is_none() {
                // Finished: the report runs before the end (or the error)
                // is given, so a caller that saw the end sees the record.
                if let Some(report) = this.report.as_mut() {
                    ready!(report.as_mut().poll(cx));
                    this.report = None;
                }
                return Poll::Ready(this.final_error.take().map(Err));
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    if bytes.is_empty() {
                        continue;
                    }
                    if let Some(accounting) = this.accounting.as_mut()
                        && accounting.time_to_first_token.is_none()
                    {
                        accounting.time_to_first_token = Some(accounting.started.elapsed());
                    }
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.sleep.as_mut().reset(deadline);
                    return Poll::Ready(Some(Ok(bytes)));
                }
                Poll::Ready(Some(Err(source))) => {
                    let error = Error::StreamInterrupted {
                        provider: this.provider,
                        reason: format!("connection error: {source}"),
                        usage: Some(this.usage),
                    };
                    this.finish(Some(error));
                }
                Poll::Ready(None) => this.finish(None),
                Poll::Pending => {
                    ready!(this.sleep.as_mut().poll(cx));
                    let error = Error::Timeout {
                        phase: TimeoutPhase::StreamIdle,
                        after: this.idle,
                    };
                    this.finish(Some(error));
                }
            }
        }
    }
}

impl Drop for AudioBytes {
    fn drop(&mut self) {
        // Dropped before the end: the provider took the request, so the
        // call is still reported once, as not succeeded.
        let report = match (self.accounting.take(), self.report.take()) {
            (Some(accounting), _) => accounting.report(self.usage, false),
            (None, Some(report)) => report,
            (None, None) => return,
        };
        spawn_report(report);
    }
}
