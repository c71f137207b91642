//! `pub static CATALOG`: every provider and model as static data.
//!
//! `Model::info` and `Provider::spec` index into its arrays by variant
//! number, which is why both are emitted in manifest order.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, docs, ident, option};
use crate::catalog::{Catalog, Model, Offer, Price, Provider, Quirks};

/// `pub static CATALOG: ::llmax::catalog::Catalog = ...`.
pub fn catalog_static(catalog: &Catalog, file: &str) -> TokenStream {
    let doc = doc_attrs(&docs::catalog(file));
    let providers = catalog.providers.iter().map(provider_spec);
    let models = catalog
        .models
        .iter()
        .map(|model| model_info(model, catalog));
    quote! {
        #doc
        pub static CATALOG: ::llmax::catalog::Catalog = ::llmax::catalog::Catalog {
            providers: &[#(#providers),*],
            models: &[#(#models),*],
        };
    }
}

/// `ProviderSpec { ... }`.
fn provider_spec(provider: &Provider) -> TokenStream {
    let Provider {
        name,
        description,
        base_urls,
        required,
        serves_any_model,
        borrow_prices,
        ..
    } = provider;
    let protocol = ident(provider.protocol.variant);
    let auth = ident(provider.auth.variant);
    let query = pairs(&provider.query);
    let defaults = pairs(&provider.defaults);
    let headers = pairs(&provider.headers);
    let api_key_env = option(provider.api_key_env.as_ref(), |env| quote!(#env));
    let quirks = quirks(&provider.quirks);
    quote! {
        ::llmax::catalog::ProviderSpec {
            name: #name,
            description: #description,
            protocol: ::llmax::catalog::Protocol::#protocol,
            base_urls: &[#(#base_urls),*],
            query: #query,
            auth: ::llmax::catalog::Auth::#auth,
            required: &[#(#required),*],
            defaults: #defaults,
            headers: #headers,
            api_key_env: #api_key_env,
            quirks: #quirks,
            serves_any_model: #serves_any_model,
            borrow_prices: #borrow_prices,
        }
    }
}

/// `ModelInfo { ... }`, with its offers.
fn model_info(model: &Model, catalog: &Catalog) -> TokenStream {
    let Model {
        name, description, ..
    } = model;
    let kind = ident(model.kind.variant);
    let capabilities = capabilities(&model.capabilities);
    let context_window = option(model.context_window, |n| quote!(#n));
    let max_output_tokens = option(model.max_output_tokens, |n| quote!(#n));
    let offers = model.offers.iter().map(|offer| self::offer(offer, catalog));
    quote! {
        ::llmax::catalog::ModelInfo {
            name: #name,
            description: #description,
            kind: ::llmax::catalog::ModelKind::#kind,
            capabilities: #capabilities,
            context_window: #context_window,
            max_output_tokens: #max_output_tokens,
            offers: &[#(#offers),*],
        }
    }
}

/// `Capabilities` is `#[non_exhaustive]`, so it cannot be built with a
/// struct expression outside llmax: start from `NONE` and set the fields,
/// which a constant initializer may do.
fn capabilities(names: &[&str]) -> TokenStream {
    if names.is_empty() {
        return quote!(::llmax::catalog::Capabilities::NONE);
    }
    let fields = names.iter().map(|name| ident(name));
    quote! {
        {
            let mut capabilities = ::llmax::catalog::Capabilities::NONE;
            #(capabilities.#fields = true;)*
            capabilities
        }
    }
}

/// `Offer { ... }`.
fn offer(offer: &Offer, catalog: &Catalog) -> TokenStream {
    let provider = &catalog.providers[offer.provider].name;
    let api_name = &offer.api_name;
    let price = price(&offer.price);
    let quirks = quirks(&offer.quirks);
    quote! {
        ::llmax::catalog::Offer {
            provider: #provider,
            api_name: #api_name,
            price: #price,
            quirks: #quirks,
        }
    }
}

/// `Price { ... }`.
fn price(price: &Price) -> TokenStream {
    let input = usd(price.input);
    let cached_input = option(price.cached_input, usd);
    let cache_write = option(price.cache_write, usd);
    let output = usd(price.output);
    let audio_per_minute = option(price.audio_per_minute, usd);
    quote! {
        ::llmax::catalog::Price {
            input: #input,
            cached_input: #cached_input,
            cache_write: #cache_write,
            output: #output,
            audio_per_minute: #audio_per_minute,
        }
    }
}

/// `Usd::from_picos(picos)`.
fn usd(picos: u64) -> TokenStream {
    quote!(::llmax::catalog::Usd::from_picos(#picos))
}

/// `Quirks { ... }`, or `Quirks::NONE`.
fn quirks(quirks: &Quirks) -> TokenStream {
    let Quirks {
        drop,
        json_object_as_json_schema,
        ..
    } = quirks;
    if quirks.rename.is_empty() && drop.is_empty() && !json_object_as_json_schema {
        return quote!(::llmax::catalog::Quirks::NONE);
    }
    let rename = pairs(&quirks.rename);
    quote! {
        ::llmax::catalog::Quirks {
            rename: #rename,
            drop: &[#(#drop),*],
            json_object_as_json_schema: #json_object_as_json_schema,
        }
    }
}

/// `&[("a", "b"), ...]`.
fn pairs(pairs: &[(String, String)]) -> TokenStream {
    let pairs = pairs.iter().map(|(key, value)| quote!((#key, #value)));
    quote!(&[#(#pairs),*])
}
