//! Reading a manifest: TOML text into plain declarations.
//!
//! Nothing is interpreted here beyond TOML and the shape of each entry:
//! unknown keys and wrong types are reported, names and prices are checked
//! later by [`check`](crate::check). Each provider, model and offer is
//! deserialized on its own, so that a mistake in one does not hide the
//! mistakes in the others.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{Ctxt, Entry};

/// A manifest as written: its providers and models, in manifest order.
#[derive(Debug, Default)]
pub struct Manifest {
    /// `[providers.<name>]` entries.
    pub providers: Vec<Named<ProviderDecl>>,
    /// `[models.<name>]` entries.
    pub models: Vec<Named<ModelDecl>>,
}

/// An entry of a table and its name.
#[derive(Debug)]
pub struct Named<T> {
    /// The key: the provider's or model's manifest name.
    pub name: String,
    /// Where the key is in the source (byte range).
    pub at: Range<usize>,
    /// The entry's declaration.
    pub decl: T,
}

/// `[providers.<name>]`. Keys are documented in the workspace README.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderDecl {
    /// One line on the provider.
    #[serde(default)]
    pub description: String,
    /// `openai`, `anthropic`, `gemini` or `mock`.
    pub protocol: Option<Spanned<String>>,
    /// Base-URL templates: one string or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub base_url: Vec<Spanned<String>>,
    /// Query parameters, the values being templates.
    #[serde(default)]
    pub query: Table<Spanned<String>>,
    /// `bearer`, `api-key`, `x-api-key`, `x-goog-api-key` or `none`.
    pub auth: Option<Spanned<String>>,
    /// Deployment fields that must be set.
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    /// Default values of deployment fields.
    #[serde(default)]
    pub defaults: Table<String>,
    /// Headers sent on every request (values spanned: they are checked).
    #[serde(default)]
    pub headers: Table<Spanned<String>>,
    /// Where the API key usually lives.
    pub api_key_env: Option<String>,
    /// Request rewrites for every model of the provider.
    #[serde(default)]
    pub quirks: QuirksDecl,
    /// Any catalog model may be deployed on this provider.
    #[serde(default)]
    pub serves_any_model: bool,
    /// Priced like the model's first listed provider.
    #[serde(default)]
    pub borrow_prices: bool,
    /// The Rust variant name, overriding the derived one.
    pub ident: Option<Spanned<String>>,
}

/// `[models.<name>]`. Keys are documented in the workspace README.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDecl {
    /// One line on the model.
    #[serde(default)]
    pub description: String,
    /// `chat`, `embedding`, `transcription`, `image`, `speech` or `video`.
    pub kind: Option<Spanned<String>>,
    /// Capability names.
    #[serde(default)]
    pub capabilities: Vec<Spanned<String>>,
    /// Context window in tokens.
    pub context_window: Option<Spanned<i64>>,
    /// Maximum output tokens.
    pub max_output_tokens: Option<Spanned<i64>>,
    /// The Rust variant name, overriding the derived one.
    pub ident: Option<Spanned<String>>,
    /// The `providers` key, skipped here: its entries are read one by one
    /// into [`offers`](Self::offers).
    #[serde(default, rename = "providers")]
    _providers: Option<de::IgnoredAny>,
    /// `providers.<name>` entries, in manifest order.
    #[serde(skip)]
    pub offers: Vec<Named<OfferDecl>>,
    /// Whether `providers` has entries, even some that could not be read
    /// (so that their model is not also said to have no provider).
    #[serde(skip)]
    pub lists_providers: bool,
}

/// Per-image prices in USD: by size (`"1024x1024"`), then by quality.
pub type ImagePrices =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, Spanned<f64>>>;

/// `providers.<name>` of a model: a provider serving it, and its prices
/// there in USD per million tokens (audio: USD per minute).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferDecl {
    /// The model name sent on the wire, if not the manifest name.
    pub api_name: Option<String>,
    /// Per million input tokens.
    pub input: Option<Spanned<f64>>,
    /// Per million cached input tokens.
    pub cached_input: Option<Spanned<f64>>,
    /// Per million input tokens written to the cache.
    pub cache_write: Option<Spanned<f64>>,
    /// Per million output tokens.
    pub output: Option<Spanned<f64>>,
    /// Per minute of audio.
    pub audio_per_minute: Option<Spanned<f64>>,
    /// Per image, by size (`"1024x1024"`) then quality (`standard`, `hd`,
    /// `low`, `medium`, `high`), in USD.
    pub images: Option<Spanned<ImagePrices>>,
    /// Per million characters of input text (text to speech).
    pub per_million_characters: Option<Spanned<f64>>,
    /// Rewrites for this model on this provider.
    #[serde(default)]
    pub quirks: QuirksDecl,
}

/// `quirks = { rename = {...}, drop = [...], json_object_as_json_schema = true }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuirksDecl {
    /// Body fields renamed, from key to value.
    #[serde(default)]
    pub rename: Table<String>,
    /// Body fields removed.
    #[serde(default)]
    pub drop: Vec<String>,
    /// `json_object` rewritten to a permissive `json_schema`.
    #[serde(default)]
    pub json_object_as_json_schema: bool,
}

/// A TOML table read in order, keys with their position.
#[derive(Debug)]
pub struct Table<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Table<V> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> de::Visitor<'de> for Visitor<V> {
            type Value = Table<V>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Table<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Table(entries))
            }
        }

        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// A string, or a list of strings (`base_url`).
fn one_or_many<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Spanned<String>>, D::Error> {
    enum OneOrMany {
        One(String),
        Many(Vec<Spanned<String>>),
    }

    struct Visitor;

    impl<'de> de::Visitor<'de> for Visitor {
        type Value = OneOrMany;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
            Ok(OneOrMany::One(value.to_owned()))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(OneOrMany::Many(items))
        }
    }

    impl<'de> Deserialize<'de> for OneOrMany {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Visitor)
        }
    }

    let value: Spanned<OneOrMany> = Deserialize::deserialize(deserializer)?;
    let span = value.span();
    Ok(match value.into_inner() {
        OneOrMany::One(template) => vec![Spanned::new(span, template)],
        OneOrMany::Many(templates) => templates,
    })
}

/// Reads the manifest text `source`, reporting into `cx` a syntax error, or
/// every unknown key and wrongly typed value. The entries that could be
/// read are returned; after a TOML syntax error, none are.
pub fn parse(source: &str, cx: &mut Ctxt<'_>) -> Manifest {
    let mut manifest = Manifest::default();
    // The first syntax error only: what follows it, as TOML recovery reads
    // it, is not trustworthy enough to check (a repeated table header, for
    // instance, also makes each of its keys a duplicate).
    let root = match DeTable::parse(source) {
        Ok(root) => root,
        Err(error) => {
            let at = error.span();
            cx.error(Entry::Manifest, at.as_ref(), syntax_message(&error, source));
            return manifest;
        }
    };
    for (key, value) in root.into_inner() {
        let at = key.span();
        match key.get_ref().as_ref() {
            "providers" => {
                for (name, at, value) in entries(value, "providers", Entry::Manifest, cx) {
                    let entry = Entry::Provider(&name);
                    if let Some(decl) = decl(value, entry, &at, cx) {
                        manifest.providers.push(Named { name, at, decl });
                    }
                }
            }
            "models" => {
                for (name, at, value) in entries(value, "models", Entry::Manifest, cx) {
                    if let Some(decl) = model(&name, &at, value, cx) {
                        manifest.models.push(Named { name, at, decl });
                    }
                }
            }
            other => cx.error(
                Entry::Manifest,
                Some(&at),
                format!(
                    "unknown top-level key `{other}`; a manifest declares `[providers.<name>]` \
                     and `[models.<name>]` tables"
                ),
            ),
        }
    }
    manifest
}

/// A model, its offers read one by one.
fn model(
    name: &str,
    at: &Range<usize>,
    value: Spanned<DeValue<'_>>,
    cx: &mut Ctxt<'_>,
) -> Option<ModelDecl> {
    let offers = match value.get_ref() {
        DeValue::Table(table) => table
            .iter()
            .find(|(key, _)| key.get_ref() == "providers")
            .map(|(_, offers)| offers.clone()),
        _ => None,
    };
    let decl: Option<ModelDecl> = decl(value, Entry::Model(name), at, cx);
    // Read even when the model itself is wrong, to report their mistakes too.
    let mut read = Vec::new();
    let mut lists_providers = false;
    if let Some(offers) = offers {
        for (provider, at, value) in entries(offers, "providers", Entry::Model(name), cx) {
            lists_providers = true;
            let entry = Entry::Offer {
                model: name,
                provider: &provider,
            };
            if let Some(offer) = self::decl(value, entry, &at, cx) {
                read.push(Named {
                    name: provider,
                    at,
                    decl: offer,
                });
            }
        }
    }
    decl.map(|decl| ModelDecl {
        offers: read,
        lists_providers,
        ..decl
    })
}

/// The entries of the table `value`, or an error if it is not a table.
fn entries<'i>(
    value: Spanned<DeValue<'i>>,
    what: &str,
    entry: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> Vec<(String, Range<usize>, Spanned<DeValue<'i>>)> {
    let at = value.span();
    match value.into_inner() {
        DeValue::Table(table) => table
            .into_iter()
            .map(|(key, value)| {
                let at = key.span();
                (key.into_inner().into_owned(), at, value)
            })
            .collect(),
        other => {
            cx.error(
                entry,
                Some(&at),
                format!(
                    "`{what}` must be a table of entries by name, not {}",
                    a(other.type_str())
                ),
            );
            Vec::new()
        }
    }
}

/// One entry deserialized, or `None` after reporting why it cannot be.
fn decl<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    entry: Entry<'_>,
    at: &Range<usize>,
    cx: &mut Ctxt<'_>,
) -> Option<T> {
    if !value.get_ref().is_table() {
        let found = value.get_ref().type_str();
        cx.error(
            entry,
            Some(at),
            format!("expected a table, found a {found}"),
        );
        return None;
    }
    match T::deserialize(value.into_deserializer()) {
        Ok(decl) => Some(decl),
        Err(error) => {
            let error_at = error.span().unwrap_or_else(|| at.clone());
            cx.error(entry, Some(&error_at), error.message());
            None
        }
    }
}

/// `noun` with its indefinite article: "an integer", "a string".
fn a(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// The message of a TOML syntax error, made clearer where TOML is terse.
fn syntax_message(error: &toml::de::Error, source: &str) -> String {
    let message = error.message();
    let key = error
        .span()
        .and_then(|at| source.get(at))
        .map(|key| key.trim_matches(|c| c == '"' || c == '\''));
    match key {
        Some(key) if message == "duplicate key" => format!(
            "TOML error: duplicate key `{key}`: it is already declared above (each provider, \
             model and key is declared once)"
        ),
        _ => format!("TOML error: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> (Manifest, Vec<String>) {
        let mut cx = Ctxt::new("m.toml", source);
        let manifest = parse(source, &mut cx);
        (manifest, cx.finish().err().unwrap_or_default())
    }

    #[test]
    fn reads_entries_in_manifest_order() {
        let (manifest, errors) = read(
            r#"
            [providers.zeta]
            protocol = "openai"
            base_url = "{endpoint}"
            auth = "bearer"
            query = { b = "1", a = "{api_version}" }

            [providers.alpha]
            protocol = "mock"
            auth = "none"
            base_url = ["{endpoint}", "https://x"]

            [models.zz]
            kind = "chat"
            providers.zeta = { input = 1, output = 2.5 }
            providers.alpha = {}

            [models.aa]
            kind = "chat"
            providers.alpha = {}
            "#,
        );
        assert_eq!(errors, Vec::<String>::new());
        let names: Vec<_> = manifest.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        let names: Vec<_> = manifest.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["zz", "aa"]);
        let zeta = &manifest.providers[0].decl;
        let query: Vec<_> = zeta
            .query
            .0
            .iter()
            .map(|(k, _)| k.get_ref().as_str())
            .collect();
        assert_eq!(query, ["b", "a"]);
        assert_eq!(zeta.base_url.len(), 1);
        assert_eq!(manifest.providers[1].decl.base_url.len(), 2);
        let offers: Vec<_> = manifest.models[0]
            .decl
            .offers
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(offers, ["zeta", "alpha"]);
        let input = manifest.models[0].decl.offers[0].decl.input.as_ref();
        assert_eq!(input.map(|i| *i.get_ref()), Some(1.0));
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let (_, errors) = read("[providers.a]\nprotocol = \n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("m.toml:2:"), "{errors:?}");
        assert!(errors[0].contains("TOML error"), "{errors:?}");
    }

    #[test]
    fn explains_duplicate_entries() {
        let (_, errors) = read("[models.a]\nkind = 'chat'\n[models.a]\nkind = 'chat'\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("m.toml:3:"), "{errors:?}");
        assert!(errors[0].contains("duplicate key `a`"), "{errors:?}");
    }

    #[test]
    fn reports_unknown_keys_of_every_entry() {
        let (manifest, errors) = read(
            r#"
            [providers.a]
            protocol = "mock"
            colour = "blue"

            [providers.b]
            protocol = "mock"

            [models.m]
            kind = "chat"
            size = 3
            providers.a = { inptu = 1 }

            [models.n]
            kind = "chat"
            providers.a = { input = 1, foo = 2 }
            providers.b = { input = 1 }

            [extra]
            "#,
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors[0].starts_with("m.toml:4:13: provider `a`: unknown field `colour`"));
        assert!(errors[1].starts_with("m.toml:11:13: model `m`: unknown field `size`"));
        assert!(
            errors[2].starts_with("m.toml:12:29: model `m`: provider `a`: unknown field `inptu`")
        );
        assert!(
            errors[3].starts_with("m.toml:16:40: model `n`: provider `a`: unknown field `foo`")
        );
        assert!(errors[4].contains("unknown top-level key `extra`"));
        // What could be read still is.
        assert_eq!(manifest.providers.len(), 1);
        assert_eq!(manifest.models.len(), 1);
        assert_eq!(manifest.models[0].decl.offers.len(), 1);
    }

    #[test]
    fn reports_wrong_shapes() {
        let (_, errors) = read(
            r#"
            providers = 3
            [models.m]
            kind = 7
            [models.n]
            providers = "openai"
            "#,
        );
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].contains("`providers` must be a table"),
            "{errors:#?}"
        );
        assert!(
            errors[1].contains("model `m`: invalid type: integer"),
            "{errors:#?}"
        );
        assert!(
            errors[2].contains("`providers` must be a table"),
            "{errors:#?}"
        );
    }
}
