//! OpenAI chat streams: each `data:` event read by hand into chunks, and
//! the serde seeds the Anthropic decoder shares.

#[allow(unused_imports)]
use super::response::*;
#[allow(unused_imports)]
use super::*;

// ---- streaming ----
//
// The decoder of stream events is written by hand over serde's visitor API,
// not derived: it runs once per streamed chunk, and measured with callgrind
// in the benchmark suite (`llmax-bench profile 3`), the derived version
// cost about 600 instructions per chunk more than a minimal client's parse
// in moves of the intermediate structs (a `Vec` of choices, each holding a
// whole delta, then copied into a `StreamChunk`), and its code, spread over
// many monomorphized functions, missed the instruction cache several times
// more per chunk than the minimal client's. Here each choice is read
// straight into the `StreamChunk` it becomes; fields seen rarely (tool
// calls, usage, errors) still go through derived types.

/// A map key or a string value read as one of a few names, without
/// allocating: `F` maps the text (unknown names to a catch-all).
pub(in crate::protocol) struct Name<F>(pub fn(&str) -> F);

impl<'de, F> DeserializeSeed<'de> for Name<F> {
    type Value = F;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<F, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, F> Visitor<'de> for Name<F> {
    type Value = F;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<F, E> {
        Ok((self.0)(text))
    }
}

/// A value that may be `null`: `null` (or nothing) is `None`, else `seed`'s.
pub(in crate::protocol) struct Nullable<S>(pub S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// A field seen in few events (usage, tool calls, errors), read out of
/// line: its derived code stays off the per-chunk code path.
#[cold]
#[inline(never)]
pub(in crate::protocol) fn rare<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<T, A::Error> {
    map.next_value()
}

/// Refuses a field given twice, as derived deserializers do.
pub(in crate::protocol) fn once<E: serde::de::Error>(
    seen: &mut bool,
    name: &'static str,
) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

#[derive(Deserialize)]
pub(super) struct GroqExtra {
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

/// What an event carries besides its choices.
#[derive(Default)]
pub(super) struct ChunkRest {
    pub(super) usage: Option<WireUsage>,
    /// Groq puts the usage of a stream here.
    pub(super) groq_usage: Option<WireUsage>,
    /// An error reported inside a 200 stream.
    pub(super) error: Option<Value>,
}

pub(super) enum ChunkField {
    Choices,
    Usage,
    XGroq,
    Error,
    Other,
}

impl ChunkField {
    pub(super) fn of(name: &str) -> ChunkField {
        match name {
            "choices" => ChunkField::Choices,
            "usage" => ChunkField::Usage,
            "x_groq" => ChunkField::XGroq,
            "error" => ChunkField::Error,
            _ => ChunkField::Other,
        }
    }
}

/// One event: its choices become chunks in `out`, the rest goes to `rest`.
pub(super) struct ChunkSeed<'a> {
    pub(super) tool_ids: &'a mut HashMap<u32, Vec<String>>,
    pub(super) out: &'a mut Vec<StreamChunk>,
    pub(super) rest: &'a mut ChunkRest,
}

impl<'de> DeserializeSeed<'de> for ChunkSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChunkSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a chat completion chunk")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ChunkSeed {
            tool_ids,
            out,
            rest,
        } = self;
        let mut seen = [false; 4];
        while let Some(field) = map.next_key_seed(Name(ChunkField::of))? {
            match field {
                ChunkField::Choices => {
                    once(&mut seen[0], "choices")?;
                    map.next_value_seed(Nullable(Choices {
                        tool_ids: &mut *tool_ids,
                        out: &mut *out,
                    }))?;
                }
                ChunkField::Usage => {
                    once(&mut seen[1], "usage")?;
                    rest.usage = rare(&mut map)?;
                }
                ChunkField::XGroq => {
                    once(&mut seen[2], "x_groq")?;
                    let extra: Option<GroqExtra> = rare(&mut map)?;
                    rest.groq_usage = extra.and_then(|extra| extra.usage);
                }
                ChunkField::Error => {
                    once(&mut seen[3], "error")?;
                    rest.error = rare(&mut map)?;
                }
                ChunkField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `choices` list.
pub(super) struct Choices<'a> {
    pub(super) tool_ids: &'a mut HashMap<u32, Vec<String>>,
    pub(super) out: &'a mut Vec<StreamChunk>,
}

impl<'de> DeserializeSeed<'de> for Choices<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Choices<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of choices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut position = 0;
        while let Some(choice) = seq.next_element_seed(ChoiceSeed)? {
            let index = choice.index.unwrap_or(position);
            position += 1;
            let item = choice.into_chunk(index, self.tool_ids);
            if !item.is_empty() {
                self.out.push(item);
            }
        }
        Ok(())
    }
}

/// A choice of an event, as read.
#[derive(Default)]
pub(super) struct WireChunkChoice {
    pub(super) index: Option<u32>,
    pub(super) finish_reason: Option<FinishReason>,
    pub(super) content: Option<WireContent>,
    pub(super) reasoning_content: Option<String>,
    pub(super) reasoning: Option<String>,
    pub(super) refusal: Option<String>,
    pub(super) tool_calls: Option<Vec<WireToolCall>>,
}

impl WireChunkChoice {
    pub(super) fn into_chunk(
        self,
        index: u32,
        tool_ids: &mut HashMap<u32, Vec<String>>,
    ) -> StreamChunk {
        let (content, parts_reasoning) = match self.content {
            Some(WireContent::Text(text)) => (Some(text), None),
            Some(parts) => parts.split(),
            None => (None, None),
        };
        StreamChunk {
            index,
            content: non_empty(content),
            reasoning: non_empty(
                self.reasoning_content
                    .or(self.reasoning)
                    .or(parts_reasoning),
            ),
            refusal: non_empty(self.refusal),
            tool_calls: match self.tool_calls {
                Some(calls) => tool_deltas(calls, index, tool_ids),
                None => Vec::new(),
            },
            finish_reason: self.finish_reason,
            ..StreamChunk::default()
        }
    }
}

/// A choice's tool-call fragments, out of the per-chunk code path.
#[cold]
#[inline(never)]
pub(super) fn tool_deltas(
    calls: Vec<WireToolCall>,
    choice: u32,
    tool_ids: &mut HashMap<u32, Vec<String>>,
) -> Vec<ToolCallDelta> {
    calls
        .into_iter()
        .enumerate()
        .map(|(n, call)| {
            let index = tool_index(tool_ids, choice, n, &call);
            let (name, arguments) = match call.function {
                Some(function) => (
                    function.name,
                    function.arguments.map(WireArguments::into_text),
                ),
                None => (None, None),
            };
            ToolCallDelta {
                index,
                id: call.id,
                name,
                arguments: non_empty(arguments),
                thought_signature: None,
            }
        })
        .collect()
}

pub(super) enum ChoiceField {
    Index,
    Delta,
    FinishReason,
    Other,
}

impl ChoiceField {
    pub(super) fn of(name: &str) -> ChoiceField {
        match name {
            "index" => ChoiceField::Index,
            "delta" => ChoiceField::Delta,
            "finish_reason" => ChoiceField::FinishReason,
            _ => ChoiceField::Other,
        }
    }
}

pub(super) struct ChoiceSeed;

impl<'de> DeserializeSeed<'de> for ChoiceSeed {
    type Value = WireChunkChoice;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChoiceSeed {
    type Value = WireChunkChoice;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a choice")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut choice = WireChunkChoice::default();
        let mut seen = [false; 3];
        while let Some(field) = map.next_key_seed(Name(ChoiceField::of))? {
            match field {
                ChoiceField::Index => {
                    once(&mut seen[0], "index")?;
                    choice.index = map.next_value()?;
                }
                ChoiceField::Delta => {
                    once(&mut seen[1], "delta")?;
                    map.next_value_seed(Nullable(DeltaSeed(&mut choice)))?;
                }
                ChoiceField::FinishReason => {
                    once(&mut seen[2], "finish_reason")?;
                    choice.finish_reason =
                        map.next_value_seed(Nullable(Name(FinishReason::from_wire)))?;
                }
                ChoiceField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(choice)
    }
}

pub(super) enum DeltaField {
    Content,
    ReasoningContent,
    Reasoning,
    Refusal,
    ToolCalls,
    Other,
}

impl DeltaField {
    pub(super) fn of(name: &str) -> DeltaField {
        match name {
            "content" => DeltaField::Content,
            "reasoning_content" => DeltaField::ReasoningContent,
            // OpenRouter's and Ollama's name for reasoning text.
            "reasoning" => DeltaField::Reasoning,
            "refusal" => DeltaField::Refusal,
            "tool_calls" => DeltaField::ToolCalls,
            _ => DeltaField::Other,
        }
    }
}

/// A choice's `delta`, read into the choice.
pub(super) struct DeltaSeed<'a>(&'a mut WireChunkChoice);

impl<'de> DeserializeSeed<'de> for DeltaSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DeltaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a delta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let choice = self.0;
        let mut seen = [false; 5];
        while let Some(field) = map.next_key_seed(Name(DeltaField::of))? {
            match field {
                DeltaField::Content => {
                    once(&mut seen[0], "content")?;
                    choice.content = map.next_value()?;
                }
                DeltaField::ReasoningContent => {
                    once(&mut seen[1], "reasoning_content")?;
                    choice.reasoning_content = map.next_value()?;
                }
                DeltaField::Reasoning => {
                    once(&mut seen[2], "reasoning")?;
                    choice.reasoning = map.next_value()?;
                }
                DeltaField::Refusal => {
                    once(&mut seen[3], "refusal")?;
                    choice.refusal = map.next_value()?;
                }
                DeltaField::ToolCalls => {
                    once(&mut seen[4], "tool_calls")?;
                    choice.tool_calls = rare(&mut map)?;
                }
                DeltaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Decodes an OpenAI-protocol stream.
pub(crate) struct Decoder {
    pub(super) provider: &'static str,
    pub(super) usage: Option<Usage>,
    /// Tool-call ids seen per choice, to give calls without an `index`
    /// (Mistral) a stable one.
    pub(super) tool_ids: HashMap<u32, Vec<String>>,
}

impl Decoder {
    pub fn new(provider: &'static str) -> Decoder {
        Decoder {
            provider,
            usage: None,
            tool_ids: HashMap::new(),
        }
    }
}

pub(super) fn tool_index(
    tool_ids: &mut HashMap<u32, Vec<String>>,
    choice: u32,
    position: usize,
    call: &WireToolCall,
) -> u32 {
    if let Some(index) = call.index {
        return index;
    }
    let ids = tool_ids.entry(choice).or_default();
    match &call.id {
        Some(id) => match ids.iter().position(|seen| seen == id) {
            Some(known) => known as u32,
            None => {
                ids.push(id.clone());
                (ids.len() - 1) as u32
            }
        },
        // No index and no id: a continuation of the latest call.
        None => ids.len().saturating_sub(1).max(position) as u32,
    }
}

pub(super) fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, _event: &str, data: &str, out: &mut Vec<StreamChunk>) -> Result<Flow> {
        // JSON's whitespace is ASCII: no need for `trim`'s Unicode tables.
        let data = data.trim_ascii();
        if data == "[DONE]" {
            return Ok(Flow::Done);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let first = out.len();
        let mut rest = ChunkRest::default();
        let mut deserializer = serde_json::Deserializer::from_str(data);
        let parsed = ChunkSeed {
            tool_ids: &mut self.tool_ids,
            out,
            rest: &mut rest,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if let Err(error) = parsed {
            out.truncate(first);
            return Err(Error::decode(
                self.provider,
                error.to_string(),
                data.as_bytes(),
            ));
        }
        if let Some(error) = rest.error {
            out.truncate(first);
            let body = json!({ "error": error }).to_string();
            return Err(crate::protocol::errors::from_event(self.provider, &body).into());
        }
        let usage = rest.usage.or(rest.groq_usage).map(Usage::from);
        if let Some(usage) = usage {
            self.usage = Some(usage);
            // Usage rides on the last chunk of this event, or on a chunk of
            // its own when the event has no choices (OpenAI's final chunk).
            match out.get_mut(first..).and_then(|new| new.last_mut()) {
                Some(last) => last.usage = Some(usage),
                None => out.push(StreamChunk {
                    usage: Some(usage),
                    ..StreamChunk::default()
                }),
            }
        }
        Ok(Flow::Continue)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}
