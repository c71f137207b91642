//! Anthropic streams: Messages events read by hand, checked against the
//! protocol's order, into chunks.

#[allow(unused_imports)]
use super::response::*;
#[allow(unused_imports)]
use super::*;

// ---- streams ----
//
// Stream events are read by hand over serde's visitor API, not derived: it
// runs once per streamed chunk, and measured with callgrind in the benchmark
// suite (`llmax-bench profile 3`), the derived event (every field of every
// event type inline, about 470 bytes) cost some 600 instructions per chunk
// in copies alone, and its type names were allocated as strings. Here the
// event is filled in place, type names are matched without allocating, and
// the fields of rare events (the start, content block starts, the final
// usage) still go through derived types.

/// The types of events llmax acts on.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventKind {
    MessageStart,
    ContentBlockStart,
    ContentBlockDelta,
    ContentBlockStop,
    MessageDelta,
    MessageStop,
    Error,
    /// `ping`, and types added later.
    #[default]
    Other,
}

impl EventKind {
    pub(super) fn of(name: &str) -> EventKind {
        match name {
            "message_start" => EventKind::MessageStart,
            "content_block_start" => EventKind::ContentBlockStart,
            "content_block_delta" => EventKind::ContentBlockDelta,
            "content_block_stop" => EventKind::ContentBlockStop,
            "message_delta" => EventKind::MessageDelta,
            "message_stop" => EventKind::MessageStop,
            "error" => EventKind::Error,
            _ => EventKind::Other,
        }
    }
}

#[derive(Default)]
pub(super) struct WireEvent {
    pub(super) kind: EventKind,
    pub(super) index: Option<u32>,
    pub(super) message: Option<StartMessage>,
    pub(super) content_block: Option<WireBlock>,
    pub(super) delta: Option<WireDelta>,
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct StartMessage {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum DeltaKind {
    TextDelta,
    ThinkingDelta,
    InputJsonDelta,
    Other,
}

impl DeltaKind {
    pub(super) fn of(name: &str) -> DeltaKind {
        match name {
            "text_delta" => DeltaKind::TextDelta,
            "thinking_delta" => DeltaKind::ThinkingDelta,
            "input_json_delta" => DeltaKind::InputJsonDelta,
            _ => DeltaKind::Other,
        }
    }
}

#[derive(Default)]
pub(super) struct WireDelta {
    pub(super) kind: Option<DeltaKind>,
    pub(super) text: Option<String>,
    pub(super) partial_json: Option<String>,
    pub(super) thinking: Option<String>,
    pub(super) stop_reason: Option<String>,
    pub(super) stop_details: Option<StopDetails>,
}

/// Where a stream is in the Messages protocol: one `message_start`, then
/// content blocks (`content_block_start`, its deltas, `content_block_stop`)
/// and `message_delta`s, then `message_stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// No `message_start` yet.
    Before,
    /// Inside the message of this id (empty if the provider gave none).
    Open(String),
    /// After `message_stop`: nothing may follow.
    Stopped,
}

/// A content block that started.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockState {
    /// Its tool-call index, if it is a `tool_use` block.
    pub(super) tool: Option<u32>,
    /// Whether its `content_block_stop` came.
    pub(super) stopped: bool,
}

pub(super) enum EventField {
    Type,
    Index,
    Message,
    ContentBlock,
    Delta,
    Usage,
    Other,
}

impl EventField {
    pub(super) fn of(name: &str) -> EventField {
        match name {
            "type" => EventField::Type,
            "index" => EventField::Index,
            "message" => EventField::Message,
            "content_block" => EventField::ContentBlock,
            "delta" => EventField::Delta,
            "usage" => EventField::Usage,
            _ => EventField::Other,
        }
    }
}

/// An event, read into a `WireEvent`.
pub(super) struct EventSeed<'a>(&'a mut WireEvent);

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Messages stream event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let event = self.0;
        let mut seen = [false; 6];
        while let Some(field) = map.next_key_seed(Name(EventField::of))? {
            match field {
                EventField::Type => {
                    once(&mut seen[0], "type")?;
                    event.kind = map
                        .next_value_seed(Nullable(Name(EventKind::of)))?
                        .unwrap_or_default();
                }
                EventField::Index => {
                    once(&mut seen[1], "index")?;
                    event.index = map.next_value()?;
                }
                EventField::Message => {
                    once(&mut seen[2], "message")?;
                    event.message = rare(&mut map)?;
                }
                EventField::ContentBlock => {
                    once(&mut seen[3], "content_block")?;
                    event.content_block = rare(&mut map)?;
                }
                EventField::Delta => {
                    once(&mut seen[4], "delta")?;
                    map.next_value_seed(Nullable(DeltaSeed(&mut event.delta)))?;
                }
                EventField::Usage => {
                    once(&mut seen[5], "usage")?;
                    event.usage = rare(&mut map)?;
                }
                EventField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

pub(super) enum DeltaField {
    Type,
    Text,
    PartialJson,
    Thinking,
    StopReason,
    StopDetails,
    Other,
}

impl DeltaField {
    pub(super) fn of(name: &str) -> DeltaField {
        match name {
            "type" => DeltaField::Type,
            "text" => DeltaField::Text,
            "partial_json" => DeltaField::PartialJson,
            "thinking" => DeltaField::Thinking,
            "stop_reason" => DeltaField::StopReason,
            "stop_details" => DeltaField::StopDetails,
            _ => DeltaField::Other,
        }
    }
}

/// An event's `delta`, read into place.
pub(super) struct DeltaSeed<'a>(&'a mut Option<WireDelta>);

impl<'de> DeserializeSeed<'de> for DeltaSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DeltaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a delta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let delta = self.0.insert(WireDelta::default());
        let mut seen = [false; 6];
        while let Some(field) = map.next_key_seed(Name(DeltaField::of))? {
            match field {
                DeltaField::Type => {
                    once(&mut seen[0], "type")?;
                    delta.kind = map.next_value_seed(Nullable(Name(DeltaKind::of)))?;
                }
                DeltaField::Text => {
                    once(&mut seen[1], "text")?;
                    delta.text = map.next_value()?;
                }
                DeltaField::PartialJson => {
                    once(&mut seen[2], "partial_json")?;
                    delta.partial_json = map.next_value()?;
                }
                DeltaField::Thinking => {
                    once(&mut seen[3], "thinking")?;
                    delta.thinking = map.next_value()?;
                }
                DeltaField::StopReason => {
                    once(&mut seen[4], "stop_reason")?;
                    delta.stop_reason = map.next_value()?;
                }
                DeltaField::StopDetails => {
                    once(&mut seen[5], "stop_details")?;
                    delta.stop_details = rare(&mut map)?;
                }
                DeltaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes a Messages event stream.
///
/// Events out of protocol order are invalid data, not something to guess
/// around: a delta for a block that never started (or already stopped), a
/// second `message_start` inside an open message, anything after
/// `message_stop`. Each is a decode error, so that an answer is never
/// merged from two messages or silently missing a block.
pub(crate) struct Decoder {
    pub(super) provider: &'static str,
    pub(super) usage: Option<WireUsage>,
    pub(super) phase: Phase,
    /// The blocks that started, by the block index the provider gave (any
    /// u32 the wire carries). A list searched from its end: a message has a
    /// few blocks and deltas go to the latest, which is cheaper per chunk
    /// than hashing the index.
    pub(super) blocks: Vec<(u32, BlockState)>,
    /// How many `tool_use` blocks started: the next tool-call index.
    pub(super) tools: u32,
}

impl Decoder {
    pub fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            phase: Phase::Before,
            blocks: Vec::new(),
            tools: 0,
        }
    }

    /// An error unless a message is open: `event` needs one.
    pub(super) fn in_message(&self, event: &str, data: &str) -> Result<()> {
        match &self.phase {
            Phase::Open(_) => Ok(()),
            Phase::Before => Err(Error::decode(
                self.provider,
                format!("`{event}` before `message_start`"),
                data.as_bytes(),
            )),
            Phase::Stopped => Err(Error::decode(
                self.provider,
                format!("`{event}` after `message_stop`"),
                data.as_bytes(),
            )),
        }
    }

    /// The block `index` that started and has not stopped, or an error
    /// naming `event`.
    pub(super) fn open_block(
        &mut self,
        event: &str,
        index: u32,
        data: &str,
    ) -> Result<&mut BlockState> {
        let provider = self.provider;
        match self.blocks.iter_mut().rev().find(|(at, _)| *at == index) {
            Some((_, block)) if !block.stopped => Ok(block),
            Some(_) => Err(Error::decode(
                provider,
                format!("`{event}` for content block {index} after its `content_block_stop`"),
                data.as_bytes(),
            )),
            None => Err(Error::decode(
                provider,
                format!("`{event}` for content block {index}, which never started"),
                data.as_bytes(),
            )),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn message_start(&mut self, wire: WireEvent, data: &str) -> Result<()> {
        let id = wire
            .message
            .as_ref()
            .and_then(|message| message.id.clone())
            .unwrap_or_default();
        if let Phase::Open(open) = &self.phase {
            return Err(Error::decode(
                self.provider,
                format!(
                    "a second `message_start` (message `{id}`) inside message `{open}`, which \
                     did not stop"
                ),
                data.as_bytes(),
            ));
        }
        self.phase = Phase::Open(id);
        if let Some(usage) = wire.message.and_then(|message| message.usage) {
            self.usage.get_or_insert_default().update(usage);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    pub(super) fn block_start(
        &mut self,
        wire: WireEvent,
        data: &str,
        out: &mut Vec<StreamChunk>,
    ) -> Result<()> {
        self.in_message("content_block_start", data)?;
        let block_index = wire.index.unwrap_or(0);
        if self.blocks.iter().any(|(at, _)| *at == block_index) {
            return Err(Error::decode(
                self.provider,
                format!("content block {block_index} started twice"),
                data.as_bytes(),
            ));
        }
        let mut state = BlockState {
            tool: None,
            stopped: false,
        };
        if let Some(block) = wire.content_block {
            match block.kind.as_str() {
                "tool_use" => {
                    let tool = self.tools;
                    // Bounded by the events received: one per block.
                    self.tools = self.tools.saturating_add(1);
                    state.tool = Some(tool);
                    out.push(StreamChunk {
                        tool_calls: vec![ToolCallDelta {
                            index: tool,
                            id: block.id,
                            name: block.name,
                            arguments: None,
                            thought_signature: None,
                        }],
                        ..StreamChunk::default()
                    });
                }
                "text" => {
                    if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                        out.push(StreamChunk {
                            content: Some(text),
                            ..StreamChunk::default()
                        });
                    }
                }
                _ => {}
            }
        }
        self.blocks.push((block_index, state));
        Ok(())
    }

    #[cold]
    #[inline(never)]
    pub(super) fn message_delta(
        &mut self,
        wire: WireEvent,
        data: &str,
        out: &mut Vec<StreamChunk>,
    ) -> Result<()> {
        self.in_message("message_delta", data)?;
        if let Some(usage) = wire.usage {
            self.usage.get_or_insert_default().update(usage);
        }
        let mut chunk = StreamChunk::default();
        if let Some(delta) = wire.delta {
            chunk.finish_reason = delta.stop_reason.as_deref().map(FinishReason::from_wire);
            if chunk.finish_reason == Some(FinishReason::Refusal) {
                chunk.refusal = Some(
                    delta
                        .stop_details
                        .and_then(|details| details.explanation)
                        .unwrap_or_else(|| "refused".to_owned()),
                );
            }
        }
        // The output count is final here: usage rides on this chunk.
        chunk.usage = self.usage.map(Usage::from);
        out.push(chunk);
        Ok(())
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        // JSON's whitespace is ASCII: no need for `trim`'s Unicode tables.
        let data = data.trim_ascii();
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        if event == "error" {
            return Err(crate::protocol::errors::from_event(self.provider, data).into());
        }
        let mut wire = WireEvent::default();
        let mut deserializer = serde_json::Deserializer::from_str(data);
        EventSeed(&mut wire)
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|error| Error::decode(self.provider, error.to_string(), data.as_bytes()))?;
        if wire.kind == EventKind::Error {
            return Err(crate::protocol::errors::from_event(self.provider, data).into());
        }
        if self.phase == Phase::Stopped {
            let name = if event.is_empty() { "an event" } else { event };
            return Err(Error::decode(
                self.provider,
                format!("`{name}` after `message_stop`"),
                data.as_bytes(),
            ));
        }
        match wire.kind {
            // The event of nearly every chunk, kept short; the others are
            // out of line, off the per-chunk code path.
            EventKind::ContentBlockDelta => {
                self.in_message("content_block_delta", data)?;
                let block = wire.index.unwrap_or(0);
                let tool = self.open_block("content_block_delta", block, data)?.tool;
                let Some(delta) = wire.delta else {
                    return Ok(Flow::Continue);
                };
                let mut chunk = StreamChunk::default();
                match delta.kind {
                    Some(DeltaKind::TextDelta) => {
                        chunk.content = delta.text.filter(|t| !t.is_empty());
                    }
                    Some(DeltaKind::ThinkingDelta) => {
                        chunk.reasoning = delta.thinking.filter(|t| !t.is_empty());
                    }
                    Some(DeltaKind::InputJsonDelta) => {
                        // JSON for a block that is not a `tool_use` (a
                        // server tool's input) is not a call of the caller's.
                        if let (Some(index), Some(json)) =
                            (tool, delta.partial_json.filter(|j| !j.is_empty()))
                        {
                            chunk.tool_calls.push(ToolCallDelta {
                                index,
                                arguments: Some(json),
                                ..ToolCallDelta::default()
                            });
                        }
                    }
                    _ => {}
                }
                if !chunk.is_empty() {
                    out.push(chunk);
                }
            }
            EventKind::MessageStart => self.message_start(wire, data)?,
            EventKind::ContentBlockStart => self.block_start(wire, data, out)?,
            EventKind::ContentBlockStop => {
                self.in_message("content_block_stop", data)?;
                self.open_block("content_block_stop", wire.index.unwrap_or(0), data)?
                    .stopped = true;
            }
            EventKind::MessageDelta => self.message_delta(wire, data, out)?,
            EventKind::MessageStop => {
                self.in_message("message_stop", data)?;
                self.phase = Phase::Stopped;
                return Ok(Flow::Done);
            }
            EventKind::Error => {
                return Err(crate::protocol::errors::from_event(self.provider, data).into());
            }
            // ping, and event types added later.
            EventKind::Other => {}
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.map(Usage::from)
    }
}
