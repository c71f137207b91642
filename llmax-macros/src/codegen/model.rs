//! `pub enum Model` and its impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, docs, ident};
use crate::catalog::Catalog;

/// `pub enum Model`, one documented variant per model, in manifest order.
pub fn model_enum(catalog: &Catalog, file: &str) -> TokenStream {
    let example = catalog.models.first().map_or("", |m| m.name.as_str());
    let doc = doc_attrs(&docs::model_enum(file, example));
    let variants = catalog.models.iter().map(|model| {
        let doc = doc_attrs(&docs::model(model, catalog));
        let variant = ident(&model.ident);
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
        pub enum Model {
            #(#variants)*
        }
    }
}

/// `impl Model`: names, catalog data and prices.
pub fn model_impl(catalog: &Catalog) -> TokenStream {
    let variants: Vec<_> = catalog.models.iter().map(|m| ident(&m.ident)).collect();
    let names = catalog.models.iter().map(|m| &m.name);
    let as_str_doc = format!(
        " The manifest name, e.g. `\"{}\"`: what `Display`, `FromStr` and serde read and write.",
        catalog.models.first().map_or("", |m| m.name.as_str())
    );
    let providers = catalog.models.iter().map(|model| {
        let providers = model
            .offers
            .iter()
            .map(|offer| ident(&catalog.providers[offer.provider].ident));
        quote!(&[#(Provider::#providers),*])
    });
    quote! {
        impl Model {
            /// Every model of the catalog, in manifest order.
            pub const ALL: &'static [Model] = &[#(Model::#variants),*];

            #[doc = #as_str_doc]
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Model::#variants => #names,)*
                }
            }

            /// Everything the catalog knows about this model.
            pub fn info(self) -> &'static ::llmax::catalog::ModelInfo {
                &CATALOG.models[self as usize]
            }

            /// What the model is for.
            pub fn kind(self) -> ::llmax::catalog::ModelKind {
                self.info().kind
            }

            /// What the model can do.
            pub fn capabilities(self) -> ::llmax::catalog::Capabilities {
                self.info().capabilities
            }

            /// The context window in tokens, where the manifest gives it.
            pub fn context_window(self) -> ::core::option::Option<u32> {
                self.info().context_window
            }

            /// The providers that list this model in the manifest, in
            /// manifest order (providers serving any model are not listed
            /// unless they name it).
            pub fn providers(self) -> impl ::core::iter::Iterator<Item = Provider> {
                let providers: &'static [Provider] = match self {
                    #(Model::#variants => #providers,)*
                };
                providers.iter().copied()
            }

            /// The prices of this model on `provider`, or `None` if the
            /// provider does not serve it (see
            /// `llmax::catalog::ModelInfo::price_on`).
            pub fn price(
                self,
                provider: Provider,
            ) -> ::core::option::Option<::llmax::catalog::Price> {
                self.info().price_on(provider.spec())
            }

            /// Whether `provider` serves this model: it lists it, or serves
            /// any model.
            pub fn served_by(self, provider: Provider) -> bool {
                self.info().served_by(provider.spec())
            }
        }
    }
}

/// `impl ModelId for Model`, so that the client takes a `Model`.
pub fn model_id_impl() -> TokenStream {
    quote! {
        impl ::llmax::catalog::ModelId for Model {
            fn info(self) -> &'static ::llmax::catalog::ModelInfo {
                Model::info(self)
            }
        }
    }
}
