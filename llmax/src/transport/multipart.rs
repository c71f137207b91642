//! Multipart bodies (`multipart/form-data`): a description of the form,
//! turned into bytes on the wire by each attempt.
//!
//! A [`reqwest::multipart::Form`] is consumed when it is sent and cannot be
//! cloned, so the engine keeps this description instead, shared by the
//! attempts of a call, and each attempt builds its own form from it: a retry
//! sends the whole file again. A file on disk is opened by each attempt and
//! streamed from it, never read into memory.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};

/// A `multipart/form-data` body: text fields, then one file.
#[derive(Debug)]
pub(crate) struct Form {
    /// The catalog model the form is for (named in errors).
    pub model: &'static str,
    /// Text fields, in the order they are sent.
    pub fields: Vec<(String, String)>,
    /// The file part.
    pub file: FilePart,
}

/// The file of a form.
#[derive(Debug)]
pub(crate) struct FilePart {
    /// The field name (`file` for OpenAI's uploads).
    pub name: &'static str,
    /// The file name announced in the part's `Content-Disposition`.
    pub filename: String,
    /// The part's `Content-Type`.
    pub content_type: String,
    /// Where the bytes come from.
    pub source: Source,
    /// The size when the call was built (a file is measured again by each
    /// attempt, which sends what it finds).
    pub size: u64,
    /// The audio's duration when its header says it (WAV), read when the
    /// call was built; the mock provider answers with it.
    pub duration: Option<Duration>,
}

/// Where a file part's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// In memory, shared (cloning does not copy).
    Bytes(Bytes),
    /// On disk, streamed by each attempt.
    Path(PathBuf),
}

impl Form {
    /// The value of a text field, if the form has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The reqwest form of one attempt: the text fields, then the file,
    /// with its length declared so that the request has a
    /// `Content-Length` (some servers refuse chunked uploads).
    pub async fn build(&self) -> Result<reqwest::multipart::Form> {
        use reqwest::multipart::{Form, Part};

        let mut form = Form::new();
        for (name, value) in &self.fields {
            form = form.text(name.clone(), value.clone());
        }
        let file = &self.file;
        let part = match &file.source {
            Source::Bytes(bytes) => {
                let length = bytes.len() as u64;
                Part::stream_with_length(reqwest::Body::from(bytes.clone()), length)
            }
            Source::Path(path) => {
                let opened = tokio::fs::File::open(path)
                    .await
                    .map_err(|source| Error::file(path, source))?;
                let length = opened
                    .metadata()
                    .await
                    .map_err(|source| Error::file(path, source))?
                    .len();
                Part::stream_with_length(opened, length)
            }
        };
        let part = part
            .file_name(file.filename.clone())
            .mime_str(&file.content_type)
            .map_err(|error| Error::InvalidRequest {
                model: self.model,
                message: format!(
                    "`{}` is not a valid content type: {error}",
                    file.content_type
                ),
            })?;
        Ok(form.part(file.name, part))
    }
}
