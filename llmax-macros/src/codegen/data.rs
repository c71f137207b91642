//! `pub static CATALOG`: every provider and model as static data.
//!
//! `Model::info` and `Provider::spec` index into its arrays by variant
//! number, which is why both are emitted in manifest order.
//!
//! The data is written as source text (see the [module
//! documentation](super)) into a private module, `__llmax_catalog`, that
//! imports the catalog types so that it can name them briefly; prices are built
//! by a small `const fn` of that module, and equal prices,
//! quirks and capability sets are written once, as constants.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{docs, write_doc, write_option, write_str_lit};
use crate::catalog::{Catalog, Model, Offer, Price, Provider, Quirks};

/// The helpers and imports of the generated module.
const PRELUDE: &str = r#"
    use ::core::option::Option::{self, None, Some};
    use ::llmax::catalog::{
        Auth, Capabilities, ModelInfo, ModelKind, Offer, Price, Protocol, ProviderSpec, Quirks,
        Usd,
    };

    const fn u(picos: Option<u64>) -> Option<Usd> {
        match picos {
            Some(picos) => Some(Usd::from_picos(picos)),
            None => None,
        }
    }

    const fn p(
        input: u64,
        cached_input: Option<u64>,
        cache_write: Option<u64>,
        output: u64,
        audio_per_minute: Option<u64>,
        images: &'static [(&'static str, &'static str, Usd)],
        per_character: Option<u64>,
    ) -> Price {
        Price {
            input: Usd::from_picos(input),
            cached_input: u(cached_input),
            cache_write: u(cache_write),
            output: Usd::from_picos(output),
            audio_per_minute: u(audio_per_minute),
            images,
            per_character: u(per_character),
        }
    }
"#;

/// Values written once as constants of the generated module, `{prefix}{n}`,
/// whatever number of times they are used.
struct Consts {
    /// `C`, `P` or `Q`.
    prefix: char,
    /// The type of the constants.
    ty: &'static str,
    /// The number of each value, by its expression.
    numbers: HashMap<String, usize>,
    /// The expressions, by number.
    values: Vec<String>,
}

impl Consts {
    fn new(prefix: char, ty: &'static str) -> Consts {
        Consts {
            prefix,
            ty,
            numbers: HashMap::new(),
            values: Vec::new(),
        }
    }

    /// Writes the name of the constant of value `expr`.
    fn write_name(&mut self, out: &mut String, expr: String) {
        let number = match self.numbers.get(&expr) {
            Some(number) => *number,
            None => {
                let number = self.values.len();
                self.values.push(expr.clone());
                self.numbers.insert(expr, number);
                number
            }
        };
        let _ = write!(out, "{}{number}", self.prefix);
    }

    /// Writes `const {prefix}{n}: {ty} = {expr};` for every value.
    fn write_items(&self, out: &mut String) {
        for (number, expr) in self.values.iter().enumerate() {
            let _ = writeln!(out, "const {}{number}: {} = {expr};", self.prefix, self.ty);
        }
    }
}

/// The shared constants of the generated module.
struct Shared {
    capabilities: Consts,
    prices: Consts,
    quirks: Consts,
}

/// `pub static CATALOG: ::llmax::catalog::Catalog = ...` and the module
/// holding its data.
pub fn catalog_static(out: &mut String, catalog: &Catalog, file: &str) {
    write_doc(out, &docs::catalog(file));
    out.push_str(
        "pub static CATALOG: ::llmax::catalog::Catalog = ::llmax::catalog::Catalog {\n\
         providers: __llmax_catalog::PROVIDERS,\n\
         models: __llmax_catalog::MODELS,\n\
         };\n\
         #[doc(hidden)]\n\
         #[allow(dead_code, unused_imports, clippy::all)]\n\
         mod __llmax_catalog {\n",
    );
    out.push_str(PRELUDE);
    let mut shared = Shared {
        capabilities: Consts::new('C', "Capabilities"),
        prices: Consts::new('P', "Price"),
        quirks: Consts::new('Q', "Quirks"),
    };
    out.push_str("pub(super) const PROVIDERS: &[ProviderSpec] = &[\n");
    for provider in &catalog.providers {
        provider_spec(out, provider, &mut shared);
    }
    out.push_str("];\npub(super) const MODELS: &[ModelInfo] = &[\n");
    for model in &catalog.models {
        model_info(out, model, catalog, &mut shared);
    }
    out.push_str("];\npub(super) const MODEL_IDENTS: &[&str] = &[");
    for model in &catalog.models {
        write_str_lit(out, &model.ident);
        out.push(',');
    }
    out.push_str("];\n");
    shared.capabilities.write_items(out);
    shared.prices.write_items(out);
    shared.quirks.write_items(out);
    out.push_str("}\n");
}

/// `ProviderSpec { ... },`.
fn provider_spec(out: &mut String, provider: &Provider, shared: &mut Shared) {
    out.push_str("ProviderSpec { name: ");
    write_str_lit(out, &provider.name);
    out.push_str(", description: ");
    write_str_lit(out, &provider.description);
    let _ = write!(
        out,
        ", protocol: Protocol::{}, base_urls: ",
        provider.protocol.variant
    );
    write_strs(out, &provider.base_urls);
    out.push_str(", query: ");
    write_pairs(out, &provider.query);
    let _ = write!(out, ", auth: Auth::{}, required: ", provider.auth.variant);
    write_strs(out, &provider.required);
    out.push_str(", defaults: ");
    write_pairs(out, &provider.defaults);
    out.push_str(", headers: ");
    write_pairs(out, &provider.headers);
    out.push_str(", api_key_env: ");
    write_option(out, provider.api_key_env.as_deref(), write_str_lit);
    out.push_str(", quirks: ");
    quirks(out, &provider.quirks, shared);
    let _ = writeln!(
        out,
        ", serves_any_model: {}, borrow_prices: {} }},",
        provider.serves_any_model, provider.borrow_prices
    );
}

/// `ModelInfo { ... },`.
fn model_info(out: &mut String, model: &Model, catalog: &Catalog, shared: &mut Shared) {
    out.push_str("ModelInfo{name:");
    write_str_lit(out, &model.name);
    out.push_str(",description:");
    write_str_lit(out, &model.description);
    let _ = write!(out, ",kind:ModelKind::{},capabilities:", model.kind.variant);
    capabilities(out, &model.capabilities, shared);
    out.push_str(",context_window:");
    write_option(out, model.context_window, |out, n| {
        let _ = write!(out, "{n}");
    });
    out.push_str(",max_output_tokens:");
    write_option(out, model.max_output_tokens, |out, n| {
        let _ = write!(out, "{n}");
    });
    out.push_str(",offers:&[");
    for offer in &model.offers {
        self::offer(out, offer, catalog, shared);
    }
    out.push_str("]},\n");
}

/// The capability set, as a shared constant: `Capabilities` is
/// `#[non_exhaustive]`, so it cannot be built with a struct expression
/// outside llmax: start from `NONE` and set the fields, which a constant
/// initializer may do.
fn capabilities(out: &mut String, names: &[&str], shared: &mut Shared) {
    let mut expr = String::from("{ let mut c = Capabilities::NONE; ");
    for name in names {
        let _ = write!(expr, "c.{name} = true; ");
    }
    expr.push_str("c }");
    shared.capabilities.write_name(out, expr);
}

/// `Offer { ... },`.
fn offer(out: &mut String, offer: &Offer, catalog: &Catalog, shared: &mut Shared) {
    out.push_str("Offer{provider:");
    write_str_lit(out, &catalog.providers[offer.provider].name);
    out.push_str(",api_name:");
    write_str_lit(out, &offer.api_name);
    out.push_str(",price:");
    price(out, &offer.price, shared);
    out.push_str(",quirks:");
    quirks(out, &offer.quirks, shared);
    out.push_str("},");
}

/// The price, as a shared constant built by `p(...)`.
fn price(out: &mut String, price: &Price, shared: &mut Shared) {
    let picos = |out: &mut String, picos: u64| {
        let _ = write!(out, "{picos}");
    };
    let mut expr = String::from("p(");
    picos(&mut expr, price.input);
    expr.push(',');
    write_option(&mut expr, price.cached_input, picos);
    expr.push(',');
    write_option(&mut expr, price.cache_write, picos);
    expr.push(',');
    picos(&mut expr, price.output);
    expr.push(',');
    write_option(&mut expr, price.audio_per_minute, picos);
    // Per-image prices: a slice literal, promoted to a static by the
    // constant it is part of (`&[]` when there are none).
    expr.push_str(",&[");
    for (size, quality, rate) in &price.images {
        let _ = write!(expr, "({size:?},{quality:?},Usd::from_picos({rate})),");
    }
    expr.push_str("],");
    write_option(&mut expr, price.per_character, picos);
    expr.push(')');
    shared.prices.write_name(out, expr);
}

/// The quirks, as a shared constant: `Quirks { ... }` or `Quirks::NONE`.
fn quirks(out: &mut String, quirks: &Quirks, shared: &mut Shared) {
    let Quirks {
        rename,
        drop,
        json_object_as_json_schema,
    } = quirks;
    let expr = if rename.is_empty() && drop.is_empty() && !json_object_as_json_schema {
        String::from("Quirks::NONE")
    } else {
        let mut expr = String::from("Quirks { rename: ");
        write_pairs(&mut expr, rename);
        expr.push_str(", drop: ");
        write_strs(&mut expr, drop);
        let _ = write!(
            expr,
            ", json_object_as_json_schema: {json_object_as_json_schema} }}"
        );
        expr
    };
    shared.quirks.write_name(out, expr);
}

/// `&["a", ...]`.
fn write_strs(out: &mut String, strings: &[String]) {
    out.push_str("&[");
    for string in strings {
        write_str_lit(out, string);
        out.push(',');
    }
    out.push(']');
}

/// `&[("a", "b"), ...]`.
fn write_pairs(out: &mut String, pairs: &[(String, String)]) {
    out.push_str("&[");
    for (key, value) in pairs {
        out.push('(');
        write_str_lit(out, key);
        out.push(',');
        write_str_lit(out, value);
        out.push_str("),");
    }
    out.push(']');
}
