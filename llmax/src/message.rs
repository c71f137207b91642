//! Chat messages, in the OpenAI format that every protocol adapter reads.
//!
//! They serialize exactly as the OpenAI chat-completions API expects, so
//! messages kept as JSON (in a database, say) deserialize back unchanged.
//!
//! ```
//! use llmax::{ContentPart, Message};
//!
//! let messages = vec![
//!     Message::system("You answer in one sentence."),
//!     Message::user_parts([
//!         ContentPart::text("What is in this picture?"),
//!         ContentPart::image_url("https://example.com/cat.png"),
//!     ]),
//! ];
//! let json = serde_json::to_value(&messages).unwrap();
//! assert_eq!(json[1]["content"][1]["type"], "image_url");
//! ```

use serde::{Deserialize, Serialize};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// Instructions from the application.
    System {
        /// The instructions.
        content: Content,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Instructions from the developer (OpenAI's newer name for system).
    Developer {
        /// The instructions.
        content: Content,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// What the user says.
    User {
        /// Text, or parts (text, images, audio).
        content: Content,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// What the model said earlier, text and/or tool calls.
    Assistant {
        /// The text, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        /// The tools the model asked to call.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// The result of a tool call.
    Tool {
        /// The result, usually JSON text.
        content: Content,
        /// The id of the call this answers.
        tool_call_id: String,
    },
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<Content>) -> Message {
        Message::System {
            content: content.into(),
            name: None,
        }
    }

    /// A developer message.
    pub fn developer(content: impl Into<Content>) -> Message {
        Message::Developer {
            content: content.into(),
            name: None,
        }
    }

    /// A user message.
    pub fn user(content: impl Into<Content>) -> Message {
        Message::User {
            content: content.into(),
            name: None,
        }
    }

    /// A user message made of parts (text, images, audio).
    pub fn user_parts(parts: impl IntoIterator<Item = ContentPart>) -> Message {
        Message::user(Content::Parts(parts.into_iter().collect()))
    }

    /// An assistant message with text.
    pub fn assistant(content: impl Into<Content>) -> Message {
        Message::Assistant {
            content: Some(content.into()),
            tool_calls: Vec::new(),
            name: None,
        }
    }

    /// An assistant message that calls tools.
    pub fn assistant_tool_calls(tool_calls: impl IntoIterator<Item = ToolCall>) -> Message {
        Message::Assistant {
            content: None,
            tool_calls: tool_calls.into_iter().collect(),
            name: None,
        }
    }

    /// The result of the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<Content>) -> Message {
        Message::Tool {
            content: content.into(),
            tool_call_id: tool_call_id.into(),
        }
    }

    /// The role, as on the wire (`"user"`, `"assistant"`...).
    pub fn role(&self) -> &'static str {
        match self {
            Message::System { .. } => "system",
            Message::Developer { .. } => "developer",
            Message::User { .. } => "user",
            Message::Assistant { .. } => "assistant",
            Message::Tool { .. } => "tool",
        }
    }

    /// The content, if the message has any.
    pub fn content(&self) -> Option<&Content> {
        match self {
            Message::System { content, .. }
            | Message::Developer { content, .. }
            | Message::User { content, .. }
            | Message::Tool { content, .. } => Some(content),
            Message::Assistant { content, .. } => content.as_ref(),
        }
    }
}

/// A message's content: plain text or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text, images and audio.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The text of all text parts, joined.
    pub fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Content {
        Content::Text(text.to_owned())
    }
}

impl From<String> for Content {
    fn from(text: String) -> Content {
        Content::Text(text)
    }
}

impl From<Vec<ContentPart>> for Content {
    fn from(parts: Vec<ContentPart>) -> Content {
        Content::Parts(parts)
    }
}

/// One part of a multi-part content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL or as a `data:` URL.
    ImageUrl {
        /// The image.
        image_url: ImageUrl,
    },
    /// Audio, base64-encoded.
    InputAudio {
        /// The audio.
        input_audio: InputAudio,
    },
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> ContentPart {
        ContentPart::Text { text: text.into() }
    }

    /// An image part from a URL (`https://...` or `data:image/png;base64,...`).
    pub fn image_url(url: impl Into<String>) -> ContentPart {
        ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
            },
        }
    }

    /// An audio part from base64 data and its format (`"wav"`, `"mp3"`).
    pub fn input_audio(data: impl Into<String>, format: impl Into<String>) -> ContentPart {
        ContentPart::InputAudio {
            input_audio: InputAudio {
                data: data.into(),
                format: format.into(),
            },
        }
    }
}

/// An image reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `https://...` or `data:<mime>;base64,<data>`.
    pub url: String,
    /// `"low"`, `"high"` or `"auto"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Base64 audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputAudio {
    /// The base64 data.
    pub data: String,
    /// `"wav"` or `"mp3"`.
    pub format: String,
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed back in the tool result.
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
    /// Gemini's thought signature: the model's encrypted reasoning behind
    /// this call, sent back with it on the next round (Gemini 3 refuses a
    /// tool loop whose calls come back without theirs). Other protocols
    /// leave it `None` and ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

fn function_type() -> String {
    "function".to_owned()
}

impl ToolCall {
    /// A function call with its JSON arguments as text.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ToolCall {
        ToolCall {
            id: id.into(),
            kind: function_type(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
            thought_signature: None,
        }
    }

    /// With a thought signature (Gemini), as the model gave it.
    #[must_use]
    pub fn with_thought_signature(mut self, signature: impl Into<String>) -> ToolCall {
        self.thought_signature = Some(signature.into());
        self
    }
}

/// A function name and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function's name.
    pub name: String,
    /// The arguments, as JSON text.
    pub arguments: String,
}
