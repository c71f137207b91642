//! `pub enum Provider` and its impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, docs, ident};
use crate::catalog::Catalog;

/// `pub enum Provider`, one documented variant per provider, in manifest
/// order.
pub fn provider_enum(catalog: &Catalog, file: &str) -> TokenStream {
    let doc = doc_attrs(&docs::provider_enum(file));
    let variants = catalog.providers.iter().map(|provider| {
        let doc = doc_attrs(&docs::provider(provider));
        let variant = ident(&provider.ident);
        quote! {
            #doc
            #variant,
        }
    });
    quote! {
        #doc
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash,
            ::core::cmp::PartialOrd,
            ::core::cmp::Ord,
            ::core::fmt::Debug,
        )]
        pub enum Provider {
            #(#variants)*
        }
    }
}

/// `impl Provider`: names and catalog data.
pub fn provider_impl(catalog: &Catalog) -> TokenStream {
    let variants: Vec<_> = catalog.providers.iter().map(|p| ident(&p.ident)).collect();
    let names = catalog.providers.iter().map(|p| &p.name);
    let as_str_doc = format!(
        " The manifest name, e.g. `\"{}\"`: what `Display`, `FromStr` and serde read and write.",
        catalog.providers.first().map_or("", |p| p.name.as_str())
    );
    quote! {
        impl Provider {
            /// Every provider of the catalog, in manifest order.
            pub const ALL: &'static [Provider] = &[#(Provider::#variants),*];

            #[doc = #as_str_doc]
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Provider::#variants => #names,)*
                }
            }

            /// Everything the runtime needs to talk to this provider.
            pub fn spec(self) -> &'static ::llmax::catalog::ProviderSpec {
                &CATALOG.providers[self as usize]
            }

            /// The wire protocol this provider speaks.
            pub fn protocol(self) -> ::llmax::catalog::Protocol {
                self.spec().protocol
            }
        }
    }
}

/// `impl ProviderId for Provider`, so that deployments take a `Provider`.
pub fn provider_id_impl() -> TokenStream {
    quote! {
        impl ::llmax::catalog::ProviderId for Provider {
            fn spec(self) -> &'static ::llmax::catalog::ProviderSpec {
                Provider::spec(self)
            }
        }
    }
}
