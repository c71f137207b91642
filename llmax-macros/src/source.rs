//! Finding and reading the manifest a `manifest!` call names.
//!
//! The path is relative to the root of the invoking package
//! (`CARGO_MANIFEST_DIR`), as with `sqlx::query_file!`: the same path works
//! from any module of the crate. When no such file exists there, the path is
//! tried against the package that holds the invoking source file (its
//! nearest ancestor directory with a `Cargo.toml`). The two are the same
//! directory unless the source file lives outside the package being built,
//! as trybuild's test cases do: they are compiled as part of a crate that
//! trybuild generates under `target/`, while the file and its manifests sit
//! in the tested package. Source file locations need Rust 1.88 or later;
//! before that only `CARGO_MANIFEST_DIR` is used. An absolute path is used
//! as is.

use std::env;
use std::path::{Path, PathBuf};

use proc_macro2::Span;

/// A manifest file, read.
pub struct ManifestFile {
    /// The path as the macro was given it, used in messages.
    pub shown: String,
    /// The absolute path, for the compiler to track the file.
    pub path: PathBuf,
    /// The contents.
    pub text: String,
}

/// Finds and reads the manifest `relative`, named by a macro call at `span`.
pub fn read(relative: &str, span: Span) -> Result<ManifestFile, String> {
    let candidates = candidates(Path::new(relative), span);
    let Some(path) = candidates.iter().find(|path| path.is_file()) else {
        let looked: Vec<String> = candidates
            .iter()
            .map(|path| format!("`{}`", path.display()))
            .collect();
        return Err(format!(
            "cannot find the manifest `{relative}`: no file {}; the path is relative to the \
             package root (the directory of its Cargo.toml)",
            looked.join(" nor ")
        ));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the manifest `{}`: {error}", path.display()))?;
    Ok(ManifestFile {
        shown: relative.to_owned(),
        path: path.clone(),
        text,
    })
}

/// Where `relative` may be, in order of preference.
fn candidates(relative: &Path, span: Span) -> Vec<PathBuf> {
    if relative.is_absolute() {
        return vec![relative.to_path_buf()];
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(dir) = env::var_os("CARGO_MANIFEST_DIR") {
        roots.push(dir.into());
    }
    if let Some(dir) = source_package(span)
        && !roots.contains(&dir)
    {
        roots.push(dir);
    }
    roots.into_iter().map(|root| root.join(relative)).collect()
}

/// The root of the package holding the source file of `span`, if known.
fn source_package(span: Span) -> Option<PathBuf> {
    let file = span.local_file()?;
    // Relative to the compiler's working directory, which is ours too.
    let file = if file.is_relative() {
        env::current_dir().ok()?.join(file)
    } else {
        file
    };
    file.ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_package_root() {
        // `cargo test` runs tests with CARGO_MANIFEST_DIR set to this crate.
        let file = read("Cargo.toml", Span::call_site()).unwrap();
        assert_eq!(file.shown, "Cargo.toml");
        assert!(file.path.is_absolute());
        assert!(file.text.contains("name = \"llmax-macros\""));
    }

    #[test]
    fn absolute_paths_are_used_as_is() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
        let file = read(&path.to_string_lossy(), Span::call_site()).unwrap();
        assert_eq!(file.path, path);
    }

    #[test]
    fn a_missing_manifest_says_where_it_was_looked_for() {
        let Err(message) = read("no/such/manifest.toml", Span::call_site()) else {
            panic!("found a manifest that does not exist");
        };
        assert!(
            message.starts_with("cannot find the manifest `no/such/manifest.toml`: no file `"),
            "{message}"
        );
        assert!(message.contains("manifest.toml`"), "{message}");
        assert!(
            message.ends_with("the directory of its Cargo.toml)"),
            "{message}"
        );
    }
}
