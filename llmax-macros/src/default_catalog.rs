//! The default catalog, embedded in this crate for `model!`.
//!
//! `llmax` generates its `Model` enum from the workspace `providers.toml`
//! with `manifest!`; `model!` checks names against the same file, embedded
//! here at build time (`providers.toml` in this crate is a link to it, which
//! `cargo package` turns into a copy), so that it never has to find the
//! `llmax` sources.

use std::sync::OnceLock;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, LitStr};

use crate::catalog::Catalog;
use crate::names;

/// How the default manifest is named in messages.
const FILE: &str = "providers.toml";

/// The default manifest.
const SOURCE: &str = include_str!("../providers.toml");

/// The default catalog, or the errors of its manifest; checked once per
/// compiler process.
fn catalog() -> &'static Result<Catalog, Vec<String>> {
    static CATALOG: OnceLock<Result<Catalog, Vec<String>>> = OnceLock::new();
    CATALOG.get_or_init(|| crate::load(FILE, SOURCE))
}

/// `::llmax::Model::<Variant>` for the model named by `name`, or an error
/// spanned on it.
pub fn model(name: &LitStr) -> syn::Result<TokenStream> {
    let catalog = catalog().as_ref().map_err(|errors| {
        syn::Error::new(
            name.span(),
            format!(
                "the default catalog of llmax-macros has errors:\n{}",
                errors.join("\n")
            ),
        )
    })?;
    let wanted = name.value();
    let Some(model) = catalog.models.iter().find(|model| model.name == wanted) else {
        return Err(syn::Error::new(
            name.span(),
            unknown_model(&wanted, catalog),
        ));
    };
    // A valid identifier: `check` verified every model's.
    let variant = Ident::new(&model.ident, Span::call_site());
    Ok(quote!(::llmax::Model::#variant))
}

/// The same message as `llmax::catalog::UnknownName`, or where to look.
fn unknown_model(name: &str, catalog: &Catalog) -> String {
    let known = catalog.models.iter().map(|model| model.name.as_str());
    match names::closest(name, known) {
        Some(close) => format!("unknown model `{name}`; did you mean `{close}`?"),
        None => format!(
            "unknown model `{name}`; the models of the default catalog are listed in \
             `llmax::Model::ALL` and in llmax's providers.toml"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_manifest_is_valid() {
        if let Err(errors) = catalog() {
            panic!("{}", errors.join("\n"));
        }
    }

    #[test]
    fn known_models_expand_to_their_variant() {
        let name = LitStr::new("gpt-4o", Span::call_site());
        let tokens = model(&name).map(|t| t.to_string());
        assert_eq!(tokens.ok().as_deref(), Some(":: llmax :: Model :: Gpt4o"));
    }

    #[test]
    fn unknown_models_get_a_suggestion() {
        let Ok(catalog) = catalog() else {
            panic!("the default manifest has errors");
        };
        assert_eq!(
            unknown_model("gpt-4oo", catalog),
            "unknown model `gpt-4oo`; did you mean `gpt-4o`?"
        );
        assert!(unknown_model("zzzzzzzz", catalog).contains("llmax::Model::ALL"));
    }
}
