//! The generated impls: `SchemaOf` (the type as a field of another), and
//! for structs `LlmSchema` with its partial type.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use super::{partial, shadow};

/// Everything `#[derive(LlmSchema)]` emits for `input`, inside one
/// `const _: () = { ... };` so that its helpers stay out of the user's
/// namespace. `name` and `description` are checked; only a struct with
/// named fields gets `LlmSchema`.
pub fn expand(input: &DeriveInput, name: &str, description: Option<&str>) -> TokenStream {
    let ident = &input.ident;
    let schema_fn = shadow::schema_fn(input);
    let shown = ident.to_string();
    let schema_of = quote! {
        #[automatically_derived]
        impl ::llmax::__private::SchemaOf for #ident {
            fn llmax_schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(#shown)
            }
            fn llmax_schema_id() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(::core::concat!(::core::module_path!(), "::", #shown))
            }
            fn llmax_json_schema(
                generator: &mut ::llmax::__private::schemars::SchemaGenerator,
            ) -> ::llmax::__private::schemars::Schema {
                __llmax_json_schema(::core::option::Option::Some(generator))
            }
        }
    };
    let llm_schema = match &input.data {
        Data::Struct(data) if matches!(data.fields, Fields::Named(_)) => {
            let (partial, partial_tokens) =
                partial::partial_type(ident, &input.vis, &input.attrs, data.fields.iter());
            let llm = impl_llm_schema(ident, &partial, name, description);
            quote!(#partial_tokens #llm)
        }
        _ => TokenStream::new(),
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        const _: () = {
            #schema_fn
            #schema_of
            #llm_schema
        };
    }
}

/// `impl ::llmax::LlmSchema for #ident`, with the checked `name` and the doc
/// comment as `description`; the schema is built once, on first use.
fn impl_llm_schema(
    ident: &Ident,
    partial: &Ident,
    name: &str,
    description: Option<&str>,
) -> TokenStream {
    let description = match description {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #[automatically_derived]
        impl ::llmax::LlmSchema for #ident {
            type Partial = #partial;

            fn llm_name() -> &'static str {
                #name
            }

            fn llm_description() -> ::core::option::Option<&'static str> {
                #description
            }

            fn llm_schema() -> ::llmax::__private::serde_json::Value {
                static SCHEMA: ::std::sync::OnceLock<::llmax::__private::serde_json::Value> =
                    ::std::sync::OnceLock::new();
                ::core::clone::Clone::clone(SCHEMA.get_or_init(|| {
                    ::llmax::__private::strict_from(__llmax_json_schema(::core::option::Option::None))
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let input: DeriveInput = syn::parse_quote! {
            struct Person { name: String }
        };
        let text = expand(&input, "person", Some("A person.")).to_string();
        assert!(text.contains("impl :: llmax :: LlmSchema for Person"));
        assert!(text.contains("impl :: llmax :: __private :: SchemaOf for Person"));
        assert!(text.contains("\"person\""));
        assert!(text.contains("Some (\"A person.\")"));
        let input: DeriveInput = syn::parse_quote! {
            enum Mood { Happy, Sad }
        };
        let text = expand(&input, "Mood", None).to_string();
        assert!(!text.contains("LlmSchema for Mood"));
        assert!(text.contains("SchemaOf for Mood"));
    }
}
