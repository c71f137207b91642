//! The schema of a derived type, without the user's crate depending on
//! schemars.
//!
//! The derive copies the type, under the same name, into the body of a
//! hidden function, with `#[derive(JsonSchema)]` through llmax's re-export
//! of schemars (`#[schemars(crate = "::llmax::__private::schemars")]`), and
//! only the attributes schemars reads: doc comments, `#[serde]` and
//! `#[schemars]`. schemars then honours every serde attribute exactly as
//! serde does (renames, tags, `skip`, `default`, `flatten`...), which a
//! hand-written generator would have to re-implement and keep in step with
//! serde. The copy has the same name, so the schema's title and id are
//! those of the type, and it exists only inside the function: it is never
//! constructed, and the user's type gets no `JsonSchema` impl (one it
//! derives itself does not conflict).
//!
//! Each field's schema goes through `#[schemars(with)]` and a probe
//! that picks, at compile time, the type's `LlmSchema`-derived schema when
//! it has one (nested types that derive only `LlmSchema`, and `Option`,
//! `Vec`, `Box`, arrays of them) and its `JsonSchema` otherwise (std types,
//! and types that derive `schemars::JsonSchema`).

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Field, Fields, Meta};

/// The hidden function `__llmax_json_schema(generator) -> Schema` that
/// builds the schema of `input` as schemars would for its copy: as a
/// field's with a generator, as the root's (not yet strict) without.
pub fn schema_fn(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let attrs = container_attrs(&input.attrs);
    let mut helpers = Vec::new();
    let owner = ident.to_string();
    let body = match &input.data {
        Data::Struct(data) => {
            let fields = fields(&data.fields, &owner, &mut helpers);
            let semi = (!matches!(data.fields, Fields::Named(_))).then(|| quote!(;));
            quote!(struct #ident #fields #semi)
        }
        Data::Enum(data) => {
            let variants = data.variants.iter().map(|variant| {
                let v_ident = &variant.ident;
                let v_attrs = kept_attrs(&variant.attrs);
                let fields = fields(&variant.fields, &owner, &mut helpers);
                quote!(#(#v_attrs)* #v_ident #fields)
            });
            quote!(enum #ident { #(#variants,)* })
        }
        // Refused by the checks before this runs.
        Data::Union(_) => TokenStream::new(),
    };
    quote! {
        #[allow(non_snake_case, clippy::all)]
        fn __llmax_json_schema(
            generator: ::core::option::Option<&mut ::llmax::__private::schemars::SchemaGenerator>,
        ) -> ::llmax::__private::schemars::Schema {
            #[derive(::llmax::__private::schemars::JsonSchema)]
            #[schemars(crate = "::llmax::__private::schemars")]
            #(#attrs)*
            #[allow(dead_code, clippy::all)]
            #body
            #(#helpers)*
            match generator {
                ::core::option::Option::Some(generator) => {
                    <#ident as ::llmax::__private::schemars::JsonSchema>::json_schema(generator)
                }
                ::core::option::Option::None => ::llmax::__private::root_schema::<#ident>(),
            }
        }
    }
}

/// The fields of the copy: each with its kept attributes and, unless it
/// sets its own, `#[schemars(with = "__llmax_field_N")]`, a helper type
/// (pushed to `helpers`) whose schema is the probe's. (`schema_with` would
/// do, but schemars's code for it does not compile under `flatten`.)
fn fields(fields: &Fields, owner: &str, helpers: &mut Vec<TokenStream>) -> TokenStream {
    let field = |field: &Field, helpers: &mut Vec<TokenStream>| {
        let attrs = kept_attrs(&field.attrs);
        let ty = &field.ty;
        let vis_ident = field.ident.as_ref().map(|ident| quote!(#ident:));
        let with = if sets_schema(&field.attrs) {
            TokenStream::new()
        } else {
            let helper = format_ident!("__llmax_field_{}", helpers.len());
            let name = helper.to_string();
            // Spanned on the field's type: a type with no schema is
            // reported there.
            let probe = quote_spanned! {ty.span()=>
                (&::llmax::__private::Probe::<#ty>::new()).llmax_schema(generator)
            };
            helpers.push(quote! {
                #[allow(non_camel_case_types)]
                struct #helper;
                impl ::llmax::__private::schemars::JsonSchema for #helper {
                    fn inline_schema() -> bool {
                        true
                    }
                    fn schema_name() -> ::std::borrow::Cow<'static, str> {
                        ::std::borrow::Cow::Borrowed(#name)
                    }
                    fn schema_id() -> ::std::borrow::Cow<'static, str> {
                        ::std::borrow::Cow::Borrowed(::core::concat!(
                            ::core::module_path!(), "::", #owner, "::", #name
                        ))
                    }
                    fn json_schema(
                        generator: &mut ::llmax::__private::schemars::SchemaGenerator,
                    ) -> ::llmax::__private::schemars::Schema {
                        #[allow(unused_imports)]
                        use ::llmax::__private::{SchemaViaJsonSchema as _, SchemaViaLlm as _};
                        #probe
                    }
                }
            });
            quote!(#[schemars(with = #name)])
        };
        quote!(#(#attrs)* #with #vis_ident #ty)
    };
    match fields {
        Fields::Named(named) => {
            let list = named.named.iter().map(|f| field(f, helpers));
            quote!({ #(#list,)* })
        }
        Fields::Unnamed(unnamed) => {
            let list = unnamed.unnamed.iter().map(|f| field(f, helpers));
            quote!(( #(#list,)* ))
        }
        Fields::Unit => TokenStream::new(),
    }
}

/// Whether the field says how its schema is made (`#[schemars(with)]`,
/// `schema_with`): then it keeps that.
fn sets_schema(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("schemars"))
        .any(|attr| {
            items(attr)
                .iter()
                .any(|item| matches!(key(item).as_deref(), Some("with" | "schema_with")))
        })
}

/// Doc comments, `#[serde]` and `#[schemars]` attributes: what schemars
/// reads. Others (`#[llm]`, other derives' helpers) would be unknown on
/// the copy.
fn kept_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|attr| {
            ["doc", "serde", "schemars"]
                .iter()
                .any(|n| attr.path().is_ident(n))
        })
        .collect()
}

/// The container's kept attributes, without what would not work on the
/// copy: a `crate = "..."` of its own (the copy names llmax's), and serde's
/// container `default` (schemars would call `Default` on the copy, to put
/// default values in the schema, which strict mode removes anyway).
fn container_attrs(attrs: &[Attribute]) -> Vec<TokenStream> {
    kept_attrs(attrs)
        .into_iter()
        .filter_map(|attr| {
            let name = if attr.path().is_ident("serde") {
                "serde"
            } else if attr.path().is_ident("schemars") {
                "schemars"
            } else {
                return Some(quote!(#attr));
            };
            let dropped: &[&str] = if name == "serde" {
                &["default"]
            } else {
                &["crate"]
            };
            let kept: Vec<Vec<TokenTree>> = items(attr)
                .into_iter()
                .filter(|item| !key(item).is_some_and(|k| dropped.contains(&k.as_str())))
                .collect();
            if kept.is_empty() {
                return None;
            }
            let name = Ident::new(name, Span::call_site());
            let kept = kept
                .into_iter()
                .map(|item| item.into_iter().collect::<TokenStream>());
            Some(quote!(#[#name(#(#kept),*)]))
        })
        .collect()
}

/// The comma-separated items of `#[attr(...)]`, as tokens.
fn items(attr: &Attribute) -> Vec<Vec<TokenTree>> {
    let Meta::List(list) = &attr.meta else {
        return Vec::new();
    };
    let mut out = vec![Vec::new()];
    for token in list.tokens.clone() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(Vec::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(token);
                }
            }
        }
    }
    out.retain(|item| !item.is_empty());
    out
}

/// The leading identifier of an item (`default` of `default = "f"`).
fn key(item: &[TokenTree]) -> Option<String> {
    match item.first() {
        Some(TokenTree::Ident(ident)) => Some(ident.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_keeps_what_schemars_reads() {
        let input: DeriveInput = syn::parse_quote! {
            /// A joke.
            #[llm(name = "joke")]
            #[serde(rename_all = "camelCase", default)]
            #[schemars(crate = "llmax::schemars", deny_unknown_fields)]
            #[other(thing)]
            struct Joke {
                /// The setup.
                #[serde(rename = "s")]
                #[other(x)]
                setup: String,
                #[schemars(with = "String")]
                punchline: Box<str>,
            }
        };
        let text = schema_fn(&input).to_string();
        assert!(
            text.contains("# [serde (rename_all = \"camelCase\")]"),
            "{text}"
        );
        assert!(
            text.contains("# [schemars (deny_unknown_fields)]"),
            "{text}"
        );
        assert!(!text.contains("other"), "{text}");
        assert!(!text.contains("# [llm"), "{text}");
        assert!(text.contains("__llmax_field_0"), "{text}");
        assert!(!text.contains("__llmax_field_1"), "{text}");
    }
}
