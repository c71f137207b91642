//! Checking a manifest: names, cross-references, templates and prices.
//!
//! [`check`] turns the declarations read by [`manifest`](crate::manifest)
//! into a [`Catalog`], reporting into the context every mistake it finds,
//! not just the first: an unknown protocol, a model served by an undeclared
//! provider, a template naming an unknown field, a price that is not exact,
//! two entries with the same Rust name...

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use crate::catalog::{
    AUTHS, CAPABILITIES, Catalog, Choice, FIELDS, KINDS, MOCK, Model, Offer, PROTOCOLS, Price,
    Provider, Quirks,
};
use crate::error::{Ctxt, Entry};
use crate::manifest::{Manifest, ModelDecl, Named, OfferDecl, ProviderDecl, QuirksDecl};
use crate::names;
use crate::price::{self, PriceError};

/// The catalog of `manifest`, every mistake reported into `cx`.
///
/// The catalog is complete only if no error was reported: a missing or
/// wrong value is replaced by a placeholder so that checking can go on.
pub fn check(manifest: &Manifest, cx: &mut Ctxt<'_>) -> Catalog {
    let providers: Vec<Provider> = manifest
        .providers
        .iter()
        .map(|entry| provider(entry, cx))
        .collect();
    unique_idents(
        &manifest.providers,
        &providers,
        |p| &p.ident,
        |n| Entry::Provider(n),
        cx,
    );

    let by_name: HashMap<&str, usize> = manifest
        .providers
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.name.as_str(), index))
        .collect();
    let models: Vec<Model> = manifest
        .models
        .iter()
        .map(|entry| model(entry, &by_name, &providers, cx))
        .collect();
    unique_idents(
        &manifest.models,
        &models,
        |m| &m.ident,
        |n| Entry::Model(n),
        cx,
    );

    if models.is_empty() && !cx.has_errors() {
        cx.error(
            Entry::Manifest,
            None,
            "no model is declared; add at least one `[models.<name>]` table",
        );
    }
    Catalog { providers, models }
}

/// A provider, checked: protocol, auth, base URLs, templates, fields.
fn provider(entry: &Named<ProviderDecl>, cx: &mut Ctxt<'_>) -> Provider {
    let Named { name, at, decl } = entry;
    let here = Entry::Provider(name);
    let ident = ident(name, 'P', decl.ident.as_ref(), at, here, cx);
    let protocol = choice("protocol", decl.protocol.as_ref(), PROTOCOLS, at, here, cx);
    let auth = choice("auth", decl.auth.as_ref(), AUTHS, at, here, cx);

    // Without a valid protocol, whether a base URL is needed is unknown.
    if let Some(protocol) = protocol.filter(|p| decl.base_url.is_empty() && p.name != MOCK) {
        cx.error(
            here,
            Some(at),
            format!(
                "missing `base_url`: a provider speaking `{}` needs a base-URL template, or a \
                 list of them (only `protocol = \"mock\"` has none)",
                protocol.name
            ),
        );
    }
    for template in &decl.base_url {
        check_template("base_url", template, here, cx);
    }
    for (_, template) in &decl.query.0 {
        check_template("query", template, here, cx);
    }
    for field in &decl.required {
        known_field("required", field, here, cx);
    }
    for (field, _) in &decl.defaults.0 {
        known_field("defaults", field, here, cx);
    }
    for (name, value) in &decl.headers.0 {
        check_header(name, value, here, cx);
    }
    if decl.borrow_prices && !decl.serves_any_model {
        cx.error(
            here,
            Some(at),
            "`borrow_prices = true` has no effect without `serves_any_model = true`",
        );
    }

    Provider {
        name: name.clone(),
        ident,
        description: decl.description.clone(),
        protocol: protocol.unwrap_or(&PROTOCOLS[0]),
        base_urls: decl.base_url.iter().map(|t| t.get_ref().clone()).collect(),
        query: pairs(&decl.query.0, |v| v.get_ref().clone()),
        auth: auth.unwrap_or(&AUTHS[0]),
        required: decl.required.iter().map(|f| f.get_ref().clone()).collect(),
        defaults: pairs(&decl.defaults.0, String::clone),
        headers: pairs(&decl.headers.0, |v| v.get_ref().clone()),
        api_key_env: decl.api_key_env.clone(),
        quirks: quirks(&decl.quirks),
        serves_any_model: decl.serves_any_model,
        borrow_prices: decl.borrow_prices,
    }
}

/// A model, checked: kind, capabilities, token counts, offers.
fn model(
    entry: &Named<ModelDecl>,
    providers: &HashMap<&str, usize>,
    declared: &[Provider],
    cx: &mut Ctxt<'_>,
) -> Model {
    let Named { name, at, decl } = entry;
    let here = Entry::Model(name);
    let ident = ident(name, 'M', decl.ident.as_ref(), at, here, cx);
    let kind = choice("kind", decl.kind.as_ref(), KINDS, at, here, cx);

    let mut capabilities = Vec::new();
    for capability in &decl.capabilities {
        match CAPABILITIES.iter().find(|c| **c == capability.get_ref()) {
            Some(known) => capabilities.push(*known),
            None => unknown("capability", capability, CAPABILITIES, here, cx),
        }
    }

    if !decl.lists_providers {
        cx.error(
            here,
            Some(at),
            "no provider serves it; add at least one `providers.<name> = { input = ..., \
             output = ... }`",
        );
    }
    if let Some(kind) = kind {
        for offer in &decl.offers {
            let Some(provider) = providers.get(offer.name.as_str()).map(|&i| &declared[i]) else {
                continue;
            };
            if !serves(provider.protocol.name, kind.name) {
                cx.error(
                    Entry::Offer {
                        model: name,
                        provider: &offer.name,
                    },
                    Some(&offer.at),
                    format!(
                        "its protocol, `{}`, serves only {} models, and this model is of kind \
                         `{}`",
                        provider.protocol.name,
                        served(provider.protocol.name),
                        kind.name
                    ),
                );
            }
        }
    }
    let offers = decl
        .offers
        .iter()
        .filter_map(|offer| self::offer(name, offer, providers, cx))
        .collect();

    Model {
        name: name.clone(),
        ident,
        description: decl.description.clone(),
        kind: kind.unwrap_or(&KINDS[0]),
        capabilities,
        context_window: tokens("context_window", decl.context_window.as_ref(), here, cx),
        max_output_tokens: tokens(
            "max_output_tokens",
            decl.max_output_tokens.as_ref(),
            here,
            cx,
        ),
        offers,
    }
}

/// Whether a protocol has an endpoint for a kind of model: Anthropic's
/// Messages API is chat only; Gemini's native API serves chat and
/// embeddings (`generateContent`, `batchEmbedContents`); the OpenAI
/// protocol (and the mock, which speaks it) serves every kind llmax calls.
fn serves(protocol: &str, kind: &str) -> bool {
    match protocol {
        "anthropic" => kind == "chat",
        "gemini" => matches!(kind, "chat" | "embedding"),
        _ => true,
    }
}

/// The kinds of model a protocol that does not serve them all serves, for
/// the error message.
fn served(protocol: &str) -> &'static str {
    match protocol {
        "gemini" => "chat and embedding",
        _ => "chat",
    }
}

/// An offer, checked: its provider is declared, its prices are exact.
fn offer(
    model: &str,
    entry: &Named<OfferDecl>,
    providers: &HashMap<&str, usize>,
    cx: &mut Ctxt<'_>,
) -> Option<Offer> {
    let Named { name, at, decl } = entry;
    let here = Entry::Offer {
        model,
        provider: name,
    };
    let mut money = |key, value, scale| price(key, value, scale, here, cx);
    // Token rates are per million tokens, so their millionths are exactly
    // the pico-dollars per token (and characters likewise); audio is in
    // dollars per minute.
    let price = Price {
        input: money("input", decl.input.as_ref(), 1).unwrap_or(0),
        cached_input: money("cached_input", decl.cached_input.as_ref(), 1),
        cache_write: money("cache_write", decl.cache_write.as_ref(), 1),
        output: money("output", decl.output.as_ref(), 1).unwrap_or(0),
        audio_per_minute: money(
            "audio_per_minute",
            decl.audio_per_minute.as_ref(),
            1_000_000,
        ),
        per_character: money(
            "per_million_characters",
            decl.per_million_characters.as_ref(),
            1,
        ),
        images: Vec::new(),
    };
    let price = Price {
        images: images(decl.images.as_ref(), here, cx),
        ..price
    };
    let Some(&provider) = providers.get(name.as_str()) else {
        let mut message = format!("provider `{name}` is not declared under [providers]");
        if let Some(close) = names::closest(name, providers.keys().copied()) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        cx.error(Entry::Model(model), Some(at), message);
        return None;
    };
    Some(Offer {
        provider,
        api_name: decl.api_name.clone().unwrap_or_else(|| model.to_owned()),
        price,
        quirks: quirks(&decl.quirks),
    })
}

/// The Rust variant name: the `ident` override, or one derived from `name`.
fn ident(
    name: &str,
    prefix: char,
    custom: Option<&Spanned<String>>,
    at: &Range<usize>,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> String {
    if let Some(custom) = custom {
        let ident = custom.get_ref();
        if !names::is_valid_ident(ident) {
            cx.error(
                here,
                Some(&custom.span()),
                format!("`ident = \"{ident}\"` is not a valid Rust identifier"),
            );
        }
        return ident.clone();
    }
    let ident = names::variant_name(name, prefix);
    if !names::is_valid_ident(&ident) {
        cx.error(
            here,
            Some(at),
            format!(
                "cannot derive a Rust name from `{name}` (got `{ident}`); set `ident = \"...\"`"
            ),
        );
    }
    ident
}

/// Reports every entry whose Rust name is already taken by an earlier one.
fn unique_idents<D, T>(
    entries: &[Named<D>],
    items: &[T],
    ident: impl Fn(&T) -> &String,
    here: for<'a> fn(&'a str) -> Entry<'a>,
    cx: &mut Ctxt<'_>,
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (entry, item) in entries.iter().zip(items) {
        let ident = ident(item);
        match seen.get(ident.as_str()) {
            Some(first) => cx.error(
                here(&entry.name),
                Some(&entry.at),
                format!(
                    "its Rust name `{ident}` is also the name of `{first}`; set \
                     `ident = \"...\"` on one of them"
                ),
            ),
            None => {
                seen.insert(ident, &entry.name);
            }
        }
    }
}

/// The choice named by a required key, or `None` after reporting why not.
fn choice(
    key: &str,
    value: Option<&Spanned<String>>,
    choices: &'static [Choice],
    at: &Range<usize>,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> Option<&'static Choice> {
    let names: Vec<&str> = choices.iter().map(|c| c.name).collect();
    let Some(value) = value else {
        cx.error(
            here,
            Some(at),
            format!("missing `{key}` (one of {})", names::one_of(&names)),
        );
        return None;
    };
    let choice = choices.iter().find(|c| c.name == value.get_ref());
    if choice.is_none() {
        unknown(key, value, &names, here, cx);
    }
    choice
}

/// Reports `value` as not one of `known`, suggesting the closest.
fn unknown(
    what: &str,
    value: &Spanned<String>,
    known: &[&str],
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) {
    let name = value.get_ref();
    let mut message = format!("unknown {what} `{name}`; expected {}", names::one_of(known));
    if let Some(close) = names::closest(name, known.iter().copied()) {
        message.push_str(&format!(" (did you mean `{close}`?)"));
    }
    cx.error(here, Some(&value.span()), message);
}

/// Reports a name of `required` or `defaults` that is not a deployment field.
fn known_field(key: &str, field: &Spanned<String>, here: Entry<'_>, cx: &mut Ctxt<'_>) {
    let name = field.get_ref();
    if FIELDS.contains(&name.as_str()) {
        return;
    }
    let mut message = format!(
        "`{key}` names unknown field `{name}`; known fields are {}",
        names::one_of(FIELDS)
    );
    if let Some(close) = names::closest(name, FIELDS.iter().copied()) {
        message.push_str(&format!(" (did you mean `{close}`?)"));
    }
    cx.error(here, Some(&field.span()), message);
}

/// Reports a malformed template, or one naming an unknown field.
fn check_template(key: &str, template: &Spanned<String>, here: Entry<'_>, cx: &mut Ctxt<'_>) {
    let text = template.get_ref();
    match template_fields(text) {
        Err(problem) => cx.error(
            here,
            Some(&template.span()),
            format!("`{key}` template \"{text}\" {problem}"),
        ),
        Ok(fields) => {
            for field in fields.into_iter().filter(|f| !FIELDS.contains(f)) {
                let mut message = format!(
                    "`{key}` template \"{text}\" names unknown field `{{{field}}}`; known \
                     fields are {}",
                    names::one_of(FIELDS)
                );
                if let Some(close) = names::closest(field, FIELDS.iter().copied()) {
                    message.push_str(&format!(" (did you mean `{{{close}}}`?)"));
                }
                cx.error(here, Some(&template.span()), message);
            }
        }
    }
}

/// Reports a `headers` entry that is not valid HTTP: the runtime could not
/// send it (it would fail or be dropped on every request), so the build
/// fails instead, naming the entry.
///
/// The rules are RFC 7230's, a few lines here rather than the `http` crate
/// as a dependency of the macro crate (built for every user of llmax, for
/// two byte classes). Values are held to what the runtime's
/// `HeaderValue::from_str` takes: visible ASCII, spaces and tabs (no
/// `obs-text`), and no whitespace at either end (receivers strip it, so it
/// would not arrive as written).
fn check_header(
    name: &Spanned<String>,
    value: &Spanned<String>,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) {
    let text = name.get_ref();
    if let Err(problem) = header_name_problem(text) {
        cx.error(
            here,
            Some(&name.span()),
            format!("header name {text:?} is not a valid HTTP header name: {problem}"),
        );
    }
    let value_text = value.get_ref();
    if let Err(problem) = header_value_problem(value_text) {
        cx.error(
            here,
            Some(&value.span()),
            format!(
                "header {text:?} has value {value_text:?}, which is not a valid HTTP header \
                 value: {problem}"
            ),
        );
    }
}

/// Why `name` is not an RFC 7230 `token` (`1*tchar`), if it is not.
fn header_name_problem(name: &str) -> Result<(), String> {
    const TCHAR_PUNCTUATION: &str = "!#$%&'*+-.^_`|~";
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || TCHAR_PUNCTUATION.contains(*c)))
    {
        Some(bad) => Err(format!(
            "{bad:?} is not allowed; a name is letters, digits and `{TCHAR_PUNCTUATION}`"
        )),
        None => Ok(()),
    }
}

/// Why `value` is not a header value the runtime sends as written, if it
/// is not.
fn header_value_problem(value: &str) -> Result<(), String> {
    if let Some(bad) = value
        .chars()
        .find(|c| !(*c == ' ' || *c == '\t' || c.is_ascii_graphic()))
    {
        return Err(format!(
            "{bad:?} is not allowed; a value is visible ASCII, spaces and tabs"
        ));
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Err("it starts or ends with whitespace, which receivers strip".to_owned());
    }
    Ok(())
}

/// The `{field}` names of a template, in order.
fn template_fields(template: &str) -> Result<Vec<&str>, &'static str> {
    let mut fields = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("has a `}` without `{`");
        }
        let after = &rest[open + 1..];
        let close = after.find(['{', '}']).ok_or("has a `{` without `}`")?;
        if after[close..].starts_with('{') {
            return Err("has a `{` without `}`");
        }
        fields.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(fields)
}

/// An optional token count (`context_window`, `max_output_tokens`).
fn tokens(
    key: &str,
    value: Option<&Spanned<i64>>,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> Option<u32> {
    let value = value?;
    match u32::try_from(*value.get_ref()) {
        Ok(tokens) => Some(tokens),
        Err(_) => {
            cx.error(
                here,
                Some(&value.span()),
                format!(
                    "`{key}` = {} is not a token count (0 to {})",
                    value.get_ref(),
                    u32::MAX
                ),
            );
            None
        }
    }
}

/// An optional price in pico-dollars: its millionths times `scale`.
fn price(
    key: &str,
    value: Option<&Spanned<f64>>,
    scale: u64,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> Option<u64> {
    let value = value?;
    let picos = price::millionths(*value.get_ref())
        .and_then(|millionths| millionths.checked_mul(scale).ok_or(PriceError::TooLarge));
    match picos {
        Ok(picos) => Some(picos),
        Err(error) => {
            cx.error(
                here,
                Some(&value.span()),
                format!("price `{key}` = {} {error}", value.get_ref()),
            );
            None
        }
    }
}

/// The qualities image APIs name: OpenAI's `dall-e-3` takes `standard` and
/// `hd`, `gpt-image-*` take `low`, `medium` and `high`.
const IMAGE_QUALITIES: [&str; 5] = ["standard", "hd", "low", "medium", "high"];

/// Whether `size` is `WIDTHxHEIGHT` in pixels, as image APIs write it.
fn is_image_size(size: &str) -> bool {
    let mut parts = size.split('x');
    let mut pixels = || {
        parts.next().is_some_and(|n| {
            !n.is_empty()
                && !n.starts_with('0')
                && n.bytes().all(|b| b.is_ascii_digit())
                && n.len() <= 5
        })
    };
    pixels() && pixels() && parts.next().is_none()
}

/// The per-image prices, checked: sizes are `WIDTHxHEIGHT`, qualities are
/// ones the APIs name, prices are exact dollars (to the millionth).
fn images(
    table: Option<&Spanned<crate::manifest::ImagePrices>>,
    here: Entry<'_>,
    cx: &mut Ctxt<'_>,
) -> Vec<(String, String, u64)> {
    let Some(table) = table else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (size, qualities) in table.get_ref() {
        if !is_image_size(size) {
            cx.error(
                here,
                Some(&table.span()),
                format!("image size `{size}` is not `WIDTHxHEIGHT` in pixels (e.g. `1024x1024`)"),
            );
            continue;
        }
        if qualities.is_empty() {
            cx.error(
                here,
                Some(&table.span()),
                format!("image size `{size}` has no price"),
            );
        }
        for (quality, value) in qualities {
            if !IMAGE_QUALITIES.contains(&quality.as_str()) {
                cx.error(
                    here,
                    Some(&table.span()),
                    format!(
                        "image quality `{quality}` (size `{size}`) is not one of {}",
                        IMAGE_QUALITIES.join(", ")
                    ),
                );
                continue;
            }
            let key = format!("images.{size}.{quality}");
            // Dollars per image: millionths of a dollar are 10^6 picos.
            if let Some(picos) = price(&key, Some(value), 1_000_000, here, cx) {
                out.push((size.clone(), quality.clone(), picos));
            }
        }
    }
    out
}

/// Quirks need no check: any body field may be renamed or dropped.
fn quirks(decl: &QuirksDecl) -> Quirks {
    Quirks {
        rename: pairs(&decl.rename.0, String::clone),
        drop: decl.drop.clone(),
        json_object_as_json_schema: decl.json_object_as_json_schema,
    }
}

/// A table as `(key, value)` strings, in manifest order.
fn pairs<V>(table: &[(Spanned<String>, V)], value: impl Fn(&V) -> String) -> Vec<(String, String)> {
    table
        .iter()
        .map(|(key, v)| (key.get_ref().clone(), value(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn load(source: &str) -> Result<Catalog, Vec<String>> {
        let mut cx = Ctxt::new("m.toml", source);
        let manifest = manifest::parse(source, &mut cx);
        let catalog = check(&manifest, &mut cx);
        cx.finish().map(|()| catalog)
    }

    fn errors(source: &str) -> Vec<String> {
        match load(source) {
            Ok(catalog) => panic!("expected errors, got {catalog:#?}"),
            Err(errors) => errors,
        }
    }

    const GOOD: &str = r#"
        [providers.openai]
        description = "OpenAI"
        protocol = "openai"
        base_url = ["{endpoint}", "https://api.openai.com/v1"]
        auth = "bearer"

        [providers.azure]
        protocol = "openai"
        base_url = "{endpoint}/openai/deployments/{deployment_name}"
        query = { "api-version" = "{api_version}" }
        auth = "api-key"
        required = ["endpoint", "deployment_name"]
        defaults = { api_version = "2024-10-21" }
        quirks = { rename = { max_completion_tokens = "max_tokens" }, drop = ["stream_options"] }

        [providers.mock]
        protocol = "mock"
        auth = "none"
        serves_any_model = true
        borrow_prices = true

        [models."gpt-4.1-nano"]
        description = "small"
        kind = "chat"
        capabilities = ["streaming", "tools"]
        context_window = 1047576
        providers.openai = { input = 0.1, cached_input = 0.025, output = 0.4 }
        providers.azure = { api_name = "nano", input = 0.10875, output = 2 }

        [models.whisper]
        kind = "transcription"
        providers.openai = { audio_per_minute = 0.006 }

        [models.tts]
        kind = "speech"
        providers.openai = { per_million_characters = 15 }
    "#;

    #[test]
    fn a_good_manifest_gives_its_catalog() {
        let catalog = load(GOOD).unwrap();
        let names: Vec<_> = catalog.providers.iter().map(|p| p.ident.as_str()).collect();
        assert_eq!(names, ["Openai", "Azure", "Mock"]);
        let azure = &catalog.providers[1];
        assert_eq!(azure.auth.variant, "ApiKeyHeader");
        assert_eq!(
            azure.query,
            [("api-version".into(), "{api_version}".into())]
        );
        assert_eq!(azure.quirks.drop, ["stream_options"]);
        assert_eq!(catalog.providers[2].protocol.variant, "Mock");

        let nano = &catalog.models[0];
        assert_eq!(nano.ident, "Gpt4_1Nano");
        assert_eq!(nano.kind.variant, "Chat");
        assert_eq!(nano.capabilities, ["streaming", "tools"]);
        assert_eq!(nano.context_window, Some(1_047_576));
        assert_eq!(nano.offers[0].api_name, "gpt-4.1-nano");
        assert_eq!(
            nano.offers[0].price,
            Price {
                input: 100_000,
                cached_input: Some(25_000),
                output: 400_000,
                ..Price::default()
            }
        );
        assert_eq!(nano.offers[1].provider, 1);
        assert_eq!(nano.offers[1].api_name, "nano");
        assert_eq!(nano.offers[1].price.input, 108_750);
        assert_eq!(nano.offers[1].price.output, 2_000_000);

        let whisper = &catalog.models[1];
        assert_eq!(
            whisper.offers[0].price.audio_per_minute,
            Some(6_000_000_000)
        );
        assert_eq!(whisper.offers[0].price.input, 0);

        // $15 per million characters is 15 micro-dollars a character.
        let tts = &catalog.models[2];
        assert_eq!(tts.offers[0].price.per_character, Some(15_000_000));
        assert_eq!(tts.offers[0].price.audio_per_minute, None);
    }

    #[test]
    fn idents_can_be_overridden() {
        let catalog = load(
            r#"
            [providers.m]
            protocol = "mock"
            auth = "none"
            ident = "Fake"
            [models."4o"]
            kind = "chat"
            ident = "FourO"
            providers.m = {}
            [models."4.5"]
            kind = "chat"
            providers.m = {}
            "#,
        )
        .unwrap();
        assert_eq!(catalog.providers[0].ident, "Fake");
        assert_eq!(catalog.models[0].ident, "FourO");
        assert_eq!(catalog.models[1].ident, "M4_5");
    }

    #[test]
    fn unknown_words_are_reported_with_suggestions() {
        let errors = errors(
            r#"
            [providers.a]
            protocol = "opnai"
            base_url = "x"
            auth = "token"
            [models.m]
            kind = "chatt"
            capabilities = ["streaming", "vission", "telepathy"]
            providers.a = {}
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:3:24: provider `a`: unknown protocol `opnai`; expected `openai`, \
                 `anthropic`, `gemini` or `mock` (did you mean `openai`?)",
                "m.toml:5:20: provider `a`: unknown auth `token`; expected `bearer`, `api-key`, \
                 `x-api-key`, `x-goog-api-key` or `none`",
                "m.toml:7:20: model `m`: unknown kind `chatt`; expected `chat`, `embedding`, \
                 `transcription`, `image`, `speech` or `video` (did you mean `chat`?)",
                "m.toml:8:42: model `m`: unknown capability `vission`; expected `streaming`, \
                 `tools`, `vision`, `json_schema`, `json_object`, `reasoning`, `audio_input` \
                 or `prompt_caching` (did you mean `vision`?)",
                "m.toml:8:53: model `m`: unknown capability `telepathy`; expected `streaming`, \
                 `tools`, `vision`, `json_schema`, `json_object`, `reasoning`, `audio_input` \
                 or `prompt_caching`",
            ]
        );
    }

    #[test]
    fn missing_required_keys_are_reported() {
        let errors = errors(
            r#"
            [providers.a]
            description = "nothing else"
            [models.m]
            description = "no kind, no provider"
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:2:24: provider `a`: missing `protocol` (one of `openai`, `anthropic`, `gemini` or \
                 `mock`)",
                "m.toml:2:24: provider `a`: missing `auth` (one of `bearer`, `api-key`, \
                 `x-api-key`, `x-goog-api-key` or `none`)",
                "m.toml:4:21: model `m`: missing `kind` (one of `chat`, `embedding`, \
                 `transcription`, `image`, `speech` or `video`)",
                "m.toml:4:21: model `m`: no provider serves it; add at least one \
                 `providers.<name> = { input = ..., output = ... }`",
            ]
        );
    }

    #[test]
    fn only_the_mock_has_no_base_url() {
        let errors = errors(
            r#"
            [providers.a]
            protocol = "anthropic"
            auth = "x-api-key"
            [providers.m]
            protocol = "mock"
            auth = "none"
            [models.x]
            kind = "chat"
            providers.a = {}
            providers.m = {}
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:2:24: provider `a`: missing `base_url`: a provider speaking `anthropic` \
              needs a base-URL template, or a list of them (only `protocol = \"mock\"` has none)"
            ]
        );
    }

    #[test]
    fn models_must_name_declared_providers() {
        let errors = errors(
            r#"
            [providers.openai]
            protocol = "openai"
            base_url = "x"
            auth = "bearer"
            [models.m]
            kind = "chat"
            providers.opneai = { input = 1 }
            providers.bar = { input = 1 }
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:8:23: model `m`: provider `opneai` is not declared under [providers]; \
                 did you mean `openai`?",
                "m.toml:9:23: model `m`: provider `bar` is not declared under [providers]",
            ]
        );
    }

    #[test]
    fn templates_and_fields_must_be_known() {
        let errors = errors(
            r#"
            [providers.a]
            protocol = "openai"
            base_url = ["{endpiont}/v1", "https://x/{project_id}/{zone}", "{endpoint"]
            query = { v = "{version}" }
            auth = "bearer"
            required = ["endpoint", "deployment"]
            defaults = { api_version = "1", colour = "blue" }
            [models.m]
            kind = "chat"
            providers.a = {}
            "#,
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors[0].starts_with(
            "m.toml:4:25: provider `a`: `base_url` template \"{endpiont}/v1\" names unknown \
             field `{endpiont}`; known fields are `endpoint`, `deployment_name`, \
             `api_version`, `project_id` or `region` (did you mean `{endpoint}`?)"
        ));
        assert!(
            errors[1].contains("\"https://x/{project_id}/{zone}\" names unknown field `{zone}`")
        );
        assert!(errors[2].contains("template \"{endpoint\" has a `{` without `}`"));
        assert!(
            errors[3].contains("`query` template \"{version}\" names unknown field `{version}`")
        );
        assert!(errors[4].starts_with(
            "m.toml:7:37: provider `a`: `required` names unknown field `deployment`; known"
        ));
        assert!(errors[4].ends_with("(did you mean `deployment_name`?)"));
        assert!(
            errors[5]
                .starts_with("m.toml:8:45: provider `a`: `defaults` names unknown field `colour`")
        );
    }

    #[test]
    fn a_protocol_serves_only_the_kinds_of_model_it_has_endpoints_for() {
        let errors = errors(
            r#"
            [providers.claude]
            protocol = "anthropic"
            base_url = "x"
            auth = "x-api-key"
            [providers.open]
            protocol = "openai"
            base_url = "x"
            auth = "bearer"
            [models.embed]
            kind = "embedding"
            providers.open = {}
            providers.claude = {}
            [models.chat]
            kind = "chat"
            providers.claude = {}
            providers.google = {}
            [providers.google]
            protocol = "gemini"
            base_url = "x"
            auth = "x-goog-api-key"
            [models.vectors]
            kind = "embedding"
            providers.google = {}
            [models.picture]
            kind = "image"
            providers.google = {}
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:13:23: model `embed`: provider `claude`: its protocol, `anthropic`, serves \
              only chat models, and this model is of kind `embedding`",
                "m.toml:27:23: model `picture`: provider `google`: its protocol, `gemini`, serves \
              only chat and embedding models, and this model is of kind `image`"
            ]
        );
    }

    #[test]
    fn headers_must_be_valid_http() {
        let errors = errors(
            r#"
            [providers.a]
            protocol = "openai"
            base_url = "x"
            auth = "bearer"
            headers = { "Anthropic-Version" = "2023-06-01", "x beta" = "1", "" = "2", "x-ok" = "", "x-line" = "a\nb", "x-café" = "crème", "x-pad" = " v" }
            [models.m]
            kind = "chat"
            providers.a = {}
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:6:61: provider `a`: header name \"x beta\" is not a valid HTTP header \
                 name: ' ' is not allowed; a name is letters, digits and `!#$%&'*+-.^_`|~`",
                "m.toml:6:77: provider `a`: header name \"\" is not a valid HTTP header name: it \
                 is empty",
                "m.toml:6:111: provider `a`: header \"x-line\" has value \"a\\nb\", which is not \
                 a valid HTTP header value: '\\n' is not allowed; a value is visible ASCII, \
                 spaces and tabs",
                "m.toml:6:119: provider `a`: header name \"x-café\" is not a valid HTTP header \
                 name: 'é' is not allowed; a name is letters, digits and `!#$%&'*+-.^_`|~`",
                "m.toml:6:130: provider `a`: header \"x-café\" has value \"crème\", which is not \
                 a valid HTTP header value: 'è' is not allowed; a value is visible ASCII, spaces \
                 and tabs",
                "m.toml:6:149: provider `a`: header \"x-pad\" has value \" v\", which is not a \
                 valid HTTP header value: it starts or ends with whitespace, which receivers strip",
            ]
        );
    }

    #[test]
    fn template_syntax() {
        assert_eq!(template_fields("https://x"), Ok(vec![]));
        assert_eq!(template_fields("{a}/{b}?{c}"), Ok(vec!["a", "b", "c"]));
        assert_eq!(template_fields("{a"), Err("has a `{` without `}`"));
        assert_eq!(template_fields("{a{b}"), Err("has a `{` without `}`"));
        assert_eq!(template_fields("a}"), Err("has a `}` without `{`"));
    }

    #[test]
    fn prices_must_be_exact_and_non_negative() {
        let errors = errors(
            r#"
            [providers.p]
            protocol = "mock"
            auth = "none"
            [models.m]
            kind = "chat"
            providers.p = { input = -1, output = 0.0000001, cached_input = inf, audio_per_minute = 20000000 }
            context_window = -5
            [models.s]
            kind = "speech"
            providers.p = { per_million_characters = -15 }
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:7:37: model `m`: provider `p`: price `input` = -1 is negative; prices \
                 are zero or more",
                "m.toml:7:50: model `m`: provider `p`: price `output` = 0.0000001 has more than \
                 six decimals; llmax keeps exact pico-dollars, so a price has at most six",
                "m.toml:7:76: model `m`: provider `p`: price `cached_input` = inf is not a \
                 finite number",
                "m.toml:7:100: model `m`: provider `p`: price `audio_per_minute` = 20000000 is \
                 too large",
                "m.toml:8:30: model `m`: `context_window` = -5 is not a token count (0 to \
                 4294967295)",
                "m.toml:11:54: model `s`: provider `p`: price `per_million_characters` = -15 \
                 is negative; prices are zero or more",
            ]
        );
    }

    #[test]
    fn rust_names_must_be_unique_and_valid() {
        let errors = errors(
            r#"
            [providers.p]
            protocol = "mock"
            auth = "none"
            [providers."p!"]
            protocol = "mock"
            auth = "none"
            [models."gpt-4o"]
            kind = "chat"
            providers.p = {}
            [models."gpt.4o"]
            kind = "chat"
            providers.p = {}
            [models.other]
            kind = "chat"
            ident = "Gpt4o"
            providers.p = {}
            [models."--"]
            kind = "chat"
            providers.p = {}
            [models.bad]
            kind = "chat"
            ident = "not an ident"
            providers.p = {}
            "#,
        );
        assert_eq!(
            errors,
            [
                "m.toml:5:24: provider `p!`: its Rust name `P` is also the name of `p`; set \
                 `ident = \"...\"` on one of them",
                "m.toml:11:21: model `gpt.4o`: its Rust name `Gpt4o` is also the name of \
                 `gpt-4o`; set `ident = \"...\"` on one of them",
                "m.toml:14:21: model `other`: its Rust name `Gpt4o` is also the name of \
                 `gpt-4o`; set `ident = \"...\"` on one of them",
                "m.toml:18:21: model `--`: cannot derive a Rust name from `--` (got ``); set \
                 `ident = \"...\"`",
                "m.toml:23:21: model `bad`: `ident = \"not an ident\"` is not a valid Rust \
                 identifier",
            ]
        );
    }

    #[test]
    fn borrowing_prices_needs_serving_any_model() {
        let errors = errors(
            r#"
            [providers.p]
            protocol = "mock"
            auth = "none"
            borrow_prices = true
            [models.m]
            kind = "chat"
            providers.p = {}
            "#,
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("`borrow_prices = true` has no effect"));
    }

    #[test]
    fn an_unreadable_offer_is_not_also_a_missing_one() {
        let errors = errors(
            r#"
            [providers.p]
            protocol = "mock"
            auth = "none"
            [models.m]
            kind = "chat"
            providers.p = { inptu = 1 }
            "#,
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("unknown field `inptu`"));
    }

    #[test]
    fn a_manifest_needs_a_model() {
        assert_eq!(
            errors("[providers.p]\nprotocol = 'mock'\nauth = 'none'\n"),
            ["m.toml: no model is declared; add at least one `[models.<name>]` table"]
        );
        assert_eq!(errors("").len(), 1);
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let errors = errors(
            r#"
            [providers.a]
            protocol = "grpc"
            auth = "bearer"
            base_url = "{host}"
            [models.m]
            kind = "chat"
            providers.b = { input = 1 }
            [models.n]
            kind = "chat"
            providers.a = { input = -2 }
            "#,
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn image_prices_are_read_and_checked() {
        let good = GOOD.replace(
            "providers.openai = { input = 0.1, cached_input = 0.025, output = 0.4 }",
            "providers.openai = { images = { \"1024x1024\" = { standard = 0.04, hd = 0.08 } } }",
        );
        assert_ne!(good, GOOD);
        {
            let catalog = load(&good).unwrap();
            let images = catalog
                .models
                .iter()
                .flat_map(|m| &m.offers)
                .flat_map(|o| &o.price.images)
                .collect::<Vec<_>>();
            assert!(images.contains(&&("1024x1024".to_owned(), "hd".to_owned(), 80_000_000_000)));
        }
        for (table, wanted) in [
            ("{ \"1024\" = { hd = 0.08 } }", "image size `1024` is not"),
            (
                "{ \"1024x1024\" = { ultra = 0.08 } }",
                "image quality `ultra` (size `1024x1024`)",
            ),
            (
                "{ \"1024x1024\" = { hd = -0.08 } }",
                "price `images.1024x1024.hd`",
            ),
            (
                "{ \"1024x1024\" = { hd = 0.0800001 } }",
                "price `images.1024x1024.hd`",
            ),
        ] {
            let source = GOOD.replace(
                "providers.openai = { input = 0.1, cached_input = 0.025, output = 0.4 }",
                &format!("providers.openai = {{ images = {table} }}"),
            );
            assert_ne!(source, GOOD, "the test's manifest changed");
            let errors = errors(&source);
            assert!(
                errors.iter().any(|e| e.contains(wanted)),
                "{table}: {errors:?}"
            );
        }
    }
}
