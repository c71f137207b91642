//! The llmax benchmark suite.
//!
//! Every workload runs twice in one `llmax-bench` run: once through llmax,
//! once through the floor (the same calls written directly with reqwest and
//! serde_json, see [`floor`]), against the fake provider of [`server`]
//! running in a process of its own. CPU time is read with `getrusage` in the
//! client process only, so the ratio llmax / floor is the client library's
//! own cost, with the machine's noise mostly cancelled.
//!
//! `cargo run --release -p llmax-bench -- all` (or `cargo bench -p
//! llmax-bench`) runs everything and prints the table; `-- smoke` runs tiny
//! counts (the integration test does); `-- serve ADDR` runs the fake provider
//! alone. See `run` for every command.

pub mod cli;
pub mod compile;
pub mod fixtures;
pub mod floor;
pub mod measure;
pub mod server;
pub mod typed;
pub mod workloads;

use std::path::PathBuf;

pub use cli::run;

/// Errors of the benches: anything, with its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The conversation every call sends: a system prompt and a user message.
#[derive(Debug, Clone, Copy)]
pub struct Conversation {
    /// The system prompt.
    pub system: &'static str,
    /// The user message.
    pub user: &'static str,
}

/// The conversation of the recorded replies.
pub const CONVERSATION: Conversation = Conversation {
    system: "You are a helpful assistant.",
    user: "Invent a new holiday and describe its traditions.",
};

/// What a client read from one stream (or many, added up): the same for
/// llmax and the floor when both did the work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Streamed {
    /// Chunks with non-empty content text.
    pub content_chunks: usize,
    /// Bytes of content text.
    pub bytes: usize,
    /// The output tokens of the final usage, if one came.
    pub output_tokens: Option<u64>,
}

impl Streamed {
    /// Adds another stream's counts (the usage of the last one is kept).
    pub fn add(&mut self, other: Streamed) {
        self.content_chunks += other.content_chunks;
        self.bytes += other.bytes;
        self.output_tokens = other.output_tokens.or(self.output_tokens);
    }
}

/// The workspace root (the parent of this crate). The crate's folder is
/// taken at run time first, as `cargo run`, `cargo bench` and `cargo test`
/// set it: cargo does not rebuild when the same sources are built in another
/// folder with the same target directory (`.ci/run` does, from a copy), so the
/// compile-time value may name that other folder. It is the fallback for the
/// binary run by hand.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("the bench crate is in the workspace")
        .to_path_buf()
}
