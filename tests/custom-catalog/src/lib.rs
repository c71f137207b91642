//! A crate with a catalog of its own.
//!
//! `my_providers.toml` declares an OpenAI-compatible provider (`acme`), a
//! regional variant and a mock, and a few models; `llmax::manifest!` turns it
//! into this crate's `Model`, `Provider` and `CATALOG`, which the llmax
//! runtime takes like its default catalog. The tests check the generated API.

llmax::manifest!("my_providers.toml");
