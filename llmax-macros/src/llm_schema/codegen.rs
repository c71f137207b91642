//! The generated `impl llmax::LlmSchema`.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// `impl ::llmax::LlmSchema for #ident`, with the checked `name` and the doc
/// comment as `description`; the schema is built once, on first use.
pub fn impl_llm_schema(ident: &Ident, name: &str, description: Option<&str>) -> TokenStream {
    let description = match description {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #[automatically_derived]
        impl ::llmax::LlmSchema for #ident {
            fn llm_name() -> &'static str {
                #name
            }

            fn llm_description() -> ::core::option::Option<&'static str> {
                #description
            }

            fn llm_schema() -> ::llmax::__private::serde_json::Value {
                static SCHEMA: ::std::sync::OnceLock<::llmax::__private::serde_json::Value> =
                    ::std::sync::OnceLock::new();
                ::core::clone::Clone::clone(
                    SCHEMA.get_or_init(::llmax::schema::strict_schema::<Self>),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let ident = Ident::new("Person", proc_macro2::Span::call_site());
        let expanded = impl_llm_schema(&ident, "person", Some("A person."));
        let text = expanded.to_string();
        assert!(text.contains("impl :: llmax :: LlmSchema for Person"));
        assert!(text.contains("\"person\""));
        assert!(text.contains("Some (\"A person.\")"));
    }
}
