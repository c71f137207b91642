//! The partial type of a struct: its fields, each optional, filled from
//! the events of `llmax::partial::PartialJson` while the answer streams.
//!
//! A field's kind (how it follows its events) is read from its type's
//! name, as the derive can: `String` grows, `Vec`/`VecDeque`/sets/arrays
//! grow an element at a time, `Option` and `Box` take their inner type's
//! kind, numbers, `bool` and `char` are scalars, and any other type is
//! whole (there once complete, parsed by serde). The JSON names follow
//! serde's renames, as deserialization does.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Attribute, Field, GenericArgument, LitStr, PathArguments, Type, Visibility};

/// What the partial type needs from a field's `#[serde]` attributes.
#[derive(Default)]
struct SerdeField {
    rename: Option<String>,
    aliases: Vec<String>,
    skip: bool,
    flatten: bool,
    /// `with` / `deserialize_with`: serde reads it its own way.
    custom: bool,
}

fn serde_field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Lenient: serde's derive reports malformed attributes.
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.unraw().to_string());
            match key.as_deref() {
                Some("rename") => {
                    if let Some(name) = deserialize_name(&meta)? {
                        out.rename = Some(name);
                    }
                }
                Some("alias") => out.aliases.push(meta.value()?.parse::<LitStr>()?.value()),
                Some("skip" | "skip_deserializing") => out.skip = true,
                Some("flatten") => out.flatten = true,
                Some("with" | "deserialize_with") => {
                    out.custom = true;
                    let _: LitStr = meta.value()?.parse()?;
                }
                _ => skip_value(&meta)?,
            }
            Ok(())
        });
    }
    out
}

/// The container's `rename_all` for deserialization.
fn rename_all(attrs: &[Attribute]) -> Option<String> {
    let mut out = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                if let Some(rule) = deserialize_name(&meta)? {
                    out = Some(rule);
                }
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        });
    }
    out
}

/// `key = "x"` or `key(deserialize = "x", serialize = "y")`: the `x`.
fn deserialize_name(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<String>> {
    if meta.input.peek(syn::Token![=]) {
        return Ok(Some(meta.value()?.parse::<LitStr>()?.value()));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        let value = inner.value()?.parse::<LitStr>()?.value();
        if inner.path.is_ident("deserialize") {
            name = Some(value);
        }
        Ok(())
    })?;
    Ok(name)
}

/// Skips `= value` or `(...)` after a key we do not read.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(())
}

/// serde's `rename_all` rules, applied to a field name (snake_case).
fn apply_rule(rule: &str, field: &str) -> String {
    let pascal = || {
        let mut out = String::new();
        let mut upper = true;
        for c in field.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    };
    match rule {
        "UPPERCASE" | "SCREAMING_SNAKE_CASE" => field.to_ascii_uppercase(),
        "PascalCase" => pascal(),
        "camelCase" => {
            let pascal = pascal();
            let mut chars = pascal.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.to_ascii_uppercase().replace('_', "-"),
        // "lowercase", "snake_case", or a rule serde's derive refuses.
        _ => field.to_owned(),
    }
}

/// The kind of a field of type `ty`, `in_list` if it is a list's element;
/// `nested` (`#[llm(partial)]`) if a type the derive does not know derives
/// `LlmSchema`, so that its own partial type follows it.
fn kind(ty: &Type, in_list: bool, nested: bool) -> TokenStream {
    let p = quote!(::llmax::partial);
    let kind = |ty: &Type, in_list: bool| kind(ty, in_list, nested);
    let other = |ty: &Type| {
        if nested {
            quote!(<#ty as ::llmax::LlmSchema>::Partial)
        } else {
            quote!(#p::Whole<#ty>)
        }
    };
    match ty {
        Type::Group(inner) => kind(&inner.elem, in_list),
        Type::Paren(inner) => kind(&inner.elem, in_list),
        Type::Array(array) => {
            let elem = kind(&array.elem, true);
            quote!(#p::List<#elem>)
        }
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return other(ty);
            };
            let argument = match &last.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                }),
                _ => None,
            };
            let name = last.ident.to_string();
            match (name.as_str(), argument) {
                ("String", None) => quote!(#p::Text),
                ("Option", Some(inner)) => {
                    let inner = kind(inner, false);
                    if in_list {
                        quote!(#p::Nullable<#inner>)
                    } else {
                        quote!(#p::Opt<#inner>)
                    }
                }
                ("Box", Some(inner)) => kind(inner, in_list),
                ("Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "IndexSet", Some(inner)) => {
                    let elem = kind(inner, true);
                    quote!(#p::List<#elem>)
                }
                (
                    "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
                    | "i128" | "isize" | "f32" | "f64" | "bool" | "char",
                    None,
                ) => quote!(#p::Scalar<#ty>),
                _ => other(ty),
            }
        }
        _ => quote!(#p::Whole<#ty>),
    }
}

/// One field of the partial type.
struct PartialField<'a> {
    ident: &'a Ident,
    vis: &'a Visibility,
    kind: TokenStream,
    /// The JSON names serde accepts for it.
    names: Vec<String>,
    flatten: bool,
}

/// The partial type of the struct `ident` with `fields`, its impls, and its
/// name (to use as `LlmSchema::Partial`).
pub fn partial_type<'a>(
    ident: &Ident,
    vis: &Visibility,
    attrs: &[Attribute],
    fields: impl Iterator<Item = &'a Field>,
) -> (Ident, TokenStream) {
    let p = quote!(::llmax::partial);
    let rule = rename_all(attrs);
    let fields: Vec<PartialField<'_>> = fields
        .filter_map(|field| {
            let ident = field.ident.as_ref()?;
            let serde = serde_field(&field.attrs);
            if serde.skip {
                return None;
            }
            let name = ident.unraw().to_string();
            let mut names = vec![match (&serde.rename, &rule) {
                (Some(rename), _) => rename.clone(),
                (None, Some(rule)) => apply_rule(rule, &name),
                (None, None) => name,
            }];
            names.extend(serde.aliases);
            let kind = if serde.custom {
                quote!(#p::Raw)
            } else if serde.flatten {
                let ty = &field.ty;
                quote!(#p::Whole<#ty>)
            } else {
                let nested = field
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("llm") && super::check::is_partial(a));
                kind(&field.ty, false, nested)
            };
            Some(PartialField {
                ident,
                vis: &field.vis,
                kind,
                names,
                flatten: serde.flatten,
            })
        })
        .collect();
    let partial = format_ident!("__LlmaxPartial{}", ident.unraw());
    let shown = format!("{}Partial", ident.unraw());
    let idents: Vec<&Ident> = fields.iter().map(|f| f.ident).collect();
    let shown_fields: Vec<String> = fields.iter().map(|f| f.ident.unraw().to_string()).collect();
    let kinds: Vec<&TokenStream> = fields.iter().map(|f| &f.kind).collect();
    let declared = fields.iter().map(|f| {
        let (vis, ident, kind) = (f.vis, f.ident, &f.kind);
        quote!(#vis #ident: ::core::option::Option<<#kind as #p::Kind>::Elem>)
    });
    let arms = fields.iter().filter(|f| !f.flatten).map(|f| {
        let (ident, kind, names) = (f.ident, &f.kind, &f.names);
        quote!(#(#names)|* => #p::apply::<#kind>(&mut self.#ident, rest, event),)
    });
    let flattened = fields.iter().filter(|f| f.flatten).map(|f| {
        let (ident, kind) = (f.ident, &f.kind);
        quote!(#p::apply::<#kind>(&mut this.#ident, &[], event);)
    });
    let doc = format!(
        "The value so far of a streamed [`{ident}`]: each field is `None` until it starts \
         (see `llmax::partial`)."
    );
    let elems: Vec<TokenStream> = kinds
        .iter()
        .map(|kind| quote!(for<'__llmax> ::core::option::Option<<#kind as #p::Kind>::Elem>))
        .collect();
    let tokens = quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, clippy::all)]
        #vis struct #partial {
            #(#declared,)*
        }

        #[automatically_derived]
        impl ::core::default::Default for #partial {
            fn default() -> Self {
                #partial { #(#idents: ::core::option::Option::None,)* }
            }
        }

        #[automatically_derived]
        impl ::core::clone::Clone for #partial {
            fn clone(&self) -> Self {
                #partial { #(#idents: ::core::clone::Clone::clone(&self.#idents),)* }
            }
        }

        // Debug and PartialEq where the fields have them: the bounds are
        // higher-ranked so that they are checked where used, not here.
        #[automatically_derived]
        impl ::core::fmt::Debug for #partial where #(#elems: ::core::fmt::Debug,)* {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#shown)
                    #(.field(#shown_fields, &self.#idents))*
                    .finish()
            }
        }

        #[automatically_derived]
        impl ::core::cmp::PartialEq for #partial where #(#elems: ::core::cmp::PartialEq,)* {
            fn eq(&self, other: &Self) -> bool {
                true #(&& self.#idents == other.#idents)*
            }
        }

        impl #partial {
            fn __llmax_member(
                &mut self,
                key: &str,
                rest: &[#p::PathSeg],
                event: &#p::Event<'_>,
            ) {
                match key {
                    #(#arms)*
                    _ => {}
                }
            }
        }

        #[automatically_derived]
        impl #p::Kind for #partial {
            type Elem = Self;

            fn create(path: &[#p::PathSeg], event: &#p::Event<'_>) -> ::core::option::Option<Self> {
                let mut this = <Self as ::core::default::Default>::default();
                match (path, event) {
                    ([], #p::Event::Begin) => {}
                    ([], #p::Event::Complete(::llmax::__private::serde_json::Value::Object(members))) => {
                        for (key, value) in members {
                            this.__llmax_member(key, &[], &#p::Event::Complete(value));
                        }
                        <Self as #p::Kind>::update(&mut this, path, event);
                    }
                    ([_, ..], _) => <Self as #p::Kind>::update(&mut this, path, event),
                    _ => return ::core::option::Option::None,
                }
                ::core::option::Option::Some(this)
            }

            #[allow(unused_variables)]
            fn update(this: &mut Self, path: &[#p::PathSeg], event: &#p::Event<'_>) {
                match path {
                    [#p::PathSeg::Key(key), rest @ ..] => this.__llmax_member(key, rest, event),
                    [] => {
                        if let #p::Event::Complete(_) = event {
                            #(#flattened)*
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    (partial, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_rename_rules() {
        assert_eq!(apply_rule("camelCase", "first_name"), "firstName");
        assert_eq!(apply_rule("PascalCase", "first_name"), "FirstName");
        assert_eq!(apply_rule("kebab-case", "first_name"), "first-name");
        assert_eq!(
            apply_rule("SCREAMING-KEBAB-CASE", "first_name"),
            "FIRST-NAME"
        );
        assert_eq!(
            apply_rule("SCREAMING_SNAKE_CASE", "first_name"),
            "FIRST_NAME"
        );
        assert_eq!(apply_rule("snake_case", "first_name"), "first_name");
    }

    #[test]
    fn kinds_follow_type_names() {
        let k = |ty: Type| kind(&ty, false, false).to_string().replace(' ', "");
        assert_eq!(k(syn::parse_quote!(String)), "::llmax::partial::Text");
        assert_eq!(
            k(syn::parse_quote!(Option<Vec<Option<u8>>>)),
            "::llmax::partial::Opt<::llmax::partial::List<::llmax::partial::Nullable<::llmax::partial::Scalar<u8>>>>"
        );
        assert_eq!(k(syn::parse_quote!(Box<String>)), "::llmax::partial::Text");
        assert_eq!(
            k(syn::parse_quote!([Mood; 3])),
            "::llmax::partial::List<::llmax::partial::Whole<Mood>>"
        );
        assert_eq!(
            k(syn::parse_quote!(chrono::NaiveDate)),
            "::llmax::partial::Whole<chrono::NaiveDate>"
        );
    }

    #[test]
    fn field_names_follow_serde() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[serde(rename_all = "camelCase")]
            struct S {
                first_name: String,
                #[serde(rename(deserialize = "x", serialize = "y"), alias = "z")]
                other: u8,
                #[serde(skip)]
                gone: u8,
            }
        };
        let syn::Data::Struct(data) = &input.data else {
            unreachable!()
        };
        let (_, tokens) = partial_type(&input.ident, &input.vis, &input.attrs, data.fields.iter());
        let text = tokens.to_string();
        assert!(text.contains("\"firstName\" =>"), "{text}");
        assert!(text.contains("\"x\" | \"z\" =>"), "{text}");
        assert!(!text.contains("gone"), "{text}");
    }
}
