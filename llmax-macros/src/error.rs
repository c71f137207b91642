//! Collecting every mistake of a manifest, so that one build shows them all.

use std::fmt;
use std::ops::Range;

/// What an error is about: the entry of the manifest it names.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// The manifest as a whole (syntax, top-level tables).
    Manifest,
    /// `[providers.<name>]`.
    Provider(&'a str),
    /// `[models.<name>]`.
    Model(&'a str),
    /// `providers.<provider>` of `[models.<model>]`.
    Offer {
        /// The model's name.
        model: &'a str,
        /// The provider's name.
        provider: &'a str,
    },
}

impl fmt::Display for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Manifest => Ok(()),
            Entry::Provider(name) => write!(f, "provider `{name}`: "),
            Entry::Model(name) => write!(f, "model `{name}`: "),
            Entry::Offer { model, provider } => {
                write!(f, "model `{model}`: provider `{provider}`: ")
            }
        }
    }
}

/// The errors found so far in one manifest.
///
/// Each message starts with the file as the macro was given it, the line and
/// column when known, and the entry: `providers.toml:12:12: provider
/// `azure`: unknown protocol `grpc` ...`.
pub struct Ctxt<'a> {
    /// The manifest as shown in messages.
    file: &'a str,
    /// Its text.
    source: &'a str,
    /// Messages with the byte offset they are about, if known.
    errors: Vec<(Option<usize>, String)>,
}

impl<'a> Ctxt<'a> {
    /// A context for the manifest `file` (as shown in messages) whose text is
    /// `source` (to turn byte offsets into lines and columns).
    pub fn new(file: &'a str, source: &'a str) -> Ctxt<'a> {
        Ctxt {
            file,
            source,
            errors: Vec::new(),
        }
    }

    /// Records an error about `entry`, at byte range `at` of the source if
    /// known.
    pub fn error(
        &mut self,
        entry: Entry<'_>,
        at: Option<&Range<usize>>,
        message: impl fmt::Display,
    ) {
        let file = self.file;
        let offset = at.map(|at| at.start);
        let message = match offset.and_then(|offset| self.line_column(offset)) {
            Some((line, column)) => format!("{file}:{line}:{column}: {entry}{message}"),
            None => format!("{file}: {entry}{message}"),
        };
        self.errors.push((offset, message));
    }

    /// Whether an error has been recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `Ok` if nothing was wrong, else every message, in the order of the
    /// file (those about the file as a whole last).
    pub fn finish(mut self) -> Result<(), Vec<String>> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors
            .sort_by_key(|(offset, _)| offset.unwrap_or(usize::MAX));
        Err(self
            .errors
            .into_iter()
            .map(|(_, message)| message)
            .collect())
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn line_column(&self, offset: usize) -> Option<(usize, usize)> {
        let before = self.source.get(..offset)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Some((line, column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_position_and_entry() {
        let source = "a = 1\n[providers.x]\nprotocol = 'grpc'\n";
        let mut cx = Ctxt::new("p.toml", source);
        assert!(!cx.has_errors());
        let at = source.find("'grpc'").map(|start| start..start + 6);
        cx.error(Entry::Provider("x"), at.as_ref(), "unknown protocol");
        cx.error(Entry::Manifest, None, "empty");
        cx.error(
            Entry::Offer {
                model: "m",
                provider: "x",
            },
            Some(&(0..1)),
            "bad price",
        );
        assert!(cx.has_errors());
        assert_eq!(
            cx.finish().unwrap_err(),
            [
                "p.toml:1:1: model `m`: provider `x`: bad price",
                "p.toml:3:12: provider `x`: unknown protocol",
                "p.toml: empty",
            ]
        );
    }
}
