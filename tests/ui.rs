//! Compile-time errors of `llmax::model!`, `llmax::manifest!` and
//! `#[derive(llmax::LlmSchema)]` (the `schema_*` cases, one per error class),
//! and the `api_*` cases: what the public API keeps out of reach.
//!
//! Each `tests/ui/*.rs` must fail to compile with exactly the messages of the
//! `.stderr` next to it; each `tests/ui/pass/*.rs` must compile and run.
//! The manifests of the `manifest!` cases are in `tests/ui/manifests/`.
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`,
//! then read them.
//!
//! trybuild compiles the cases as binaries of a crate it generates under
//! `target/tests/trybuild/`, so `CARGO_MANIFEST_DIR` is that crate's
//! directory, not this package's. `manifest!` then falls back to the package
//! holding the invoking source file (this one), which needs Rust 1.88 or
//! later to be known.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
