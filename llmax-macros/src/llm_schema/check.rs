//! What strict mode cannot express, refused at compile time.
//!
//! The root of a structured output must be a JSON object, so the derive
//! takes structs with named fields, and enums (which can only be fields'
//! types). In their fields' types it refuses
//! maps (strict mode wants a fixed list of properties on every object),
//! free-form `serde_json::Value`, tuples (`prefixItems` is refused) and the
//! type itself (Anthropic refuses recursive schemas). The checks read type
//! names: a type alias or an import under another name hides a map, and
//! recursion through another type is not seen.

use proc_macro2::Ident;
use quote::ToTokens;
use syn::{Data, DeriveInput, Field, Fields, GenericArgument, Path, PathArguments, Type};

use super::Errors;
use super::attr::{Container, FieldSchema, field_schema};

/// Checks the shape of `input` and the types of its fields.
pub fn check(input: &DeriveInput, container: &Container, errors: &mut Errors) {
    if input.generics.lt_token.is_some() || input.generics.where_clause.is_some() {
        errors.at(
            &input.generics,
            "LlmSchema cannot be derived for a generic type: its schema name and cached schema \
             are one per type; derive it on a concrete type instead \
             (e.g. `struct Page { items: Vec<Item> }`)",
        );
    }
    match &input.data {
        Data::Union(data) => errors.at(
            data.union_token,
            "LlmSchema cannot be derived for a union: serde and JSON Schema have no \
             representation for it; use a struct with named fields",
        ),
        // An enum is a field's type, never a root: it gets no `LlmSchema`
        // impl, so asking for one at the root is a trait error saying so.
        // Its variants' fields follow the rules of struct fields.
        Data::Enum(data) => {
            for variant in &data.variants {
                if let Fields::Unnamed(fields) = &variant.fields
                    && fields.unnamed.len() > 1
                {
                    errors.at(
                        fields,
                        "a tuple variant with several fields is an array with per-position \
                         types (`prefixItems`), which strict mode refuses; give the variant \
                         named fields",
                    );
                }
                check_fields(variant.fields.iter(), &input.ident, errors);
            }
        }
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => {
                if let Some(transparent) = &container.transparent {
                    errors.at(
                        transparent,
                        "`#[serde(transparent)]` gives the struct the schema of its field, and \
                         the root of a structured output must be a JSON object with named \
                         properties; remove it, or derive LlmSchema on the field's type",
                    );
                }
                check_fields(fields.named.iter(), &input.ident, errors);
            }
            Fields::Unnamed(fields) => errors.at(
                fields,
                "the root of a structured output must be a JSON object: LlmSchema needs a struct \
                 with named fields (a tuple struct is an array, or its field's value)",
            ),
            Fields::Unit => errors.at(
                &input.ident,
                "the root of a structured output must be a JSON object: LlmSchema needs a struct \
                 with named fields (a unit struct is `null`)",
            ),
        },
    }
}

/// Checks the attributes and types of the fields of `owner`.
fn check_fields<'a>(fields: impl Iterator<Item = &'a Field>, owner: &Ident, errors: &mut Errors) {
    for field in fields {
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("llm")) {
            if !is_partial(attr) {
                errors.at(
                    attr,
                    "#[llm(...)] goes on the type; a field's description is its doc \
                     comment, its name is set with #[serde(rename = \"...\")] (on a field, \
                     only #[llm(partial)] is accepted: see `llmax::partial`)",
                );
            }
        }
        match field_schema(&field.attrs) {
            FieldSchema::OfType => check_type(&field.ty, &field.ty, owner, errors),
            FieldSchema::With(lit) => match lit.parse::<Type>() {
                Ok(ty) => check_type(&ty, &ty, owner, errors),
                Err(error) => errors.push(error),
            },
            FieldSchema::Skipped | FieldSchema::Custom => {}
        }
    }
}

/// `#[llm(partial)]`, exactly.
pub fn is_partial(attr: &syn::Attribute) -> bool {
    attr.parse_args::<Ident>()
        .is_ok_and(|ident| ident == "partial")
}

/// Checks `ty`, found in the type `field` of a field of `owner`, and the
/// types inside it.
fn check_type(ty: &Type, field: &Type, owner: &Ident, errors: &mut Errors) {
    let check = |ty: &Type, errors: &mut Errors| check_type(ty, field, owner, errors);
    match ty {
        Type::Path(ty_path) => {
            if let Some(qself) = &ty_path.qself {
                check(&qself.ty, errors);
            }
            let path = &ty_path.path;
            if names_owner(path, owner) {
                errors.at(
                    ty,
                    format!(
                        "recursive types are refused by Anthropic's strict mode (it does not \
                         support recursive JSON Schemas), and an llmax schema must work on \
                         every provider: `{}` contains `{owner}` itself; give each level its \
                         own type (e.g. `children: Vec<Child>`)",
                        type_string(field)
                    ),
                );
                return;
            }
            if let Some(map) = Map::of(path) {
                map.report(ty, errors);
                return;
            }
            if is_json_value(path) {
                errors.at(
                    ty,
                    format!(
                        "`{}` accepts any JSON, which strict mode cannot express (every value \
                         needs a type, every object a fixed list of properties); use a struct \
                         or an enum",
                        type_string(ty)
                    ),
                );
                return;
            }
            for ty in type_arguments(path) {
                check(ty, errors);
            }
        }
        Type::Tuple(tuple) if !tuple.elems.is_empty() => errors.at(
            ty,
            format!(
                "`{}`: tuples cannot be expressed in strict mode (arrays with per-position \
                 types, `prefixItems`, are refused); use a struct with named fields",
                type_string(ty)
            ),
        ),
        Type::Reference(inner) => check(&inner.elem, errors),
        Type::Array(inner) => check(&inner.elem, errors),
        Type::Slice(inner) => check(&inner.elem, errors),
        Type::Paren(inner) => check(&inner.elem, errors),
        Type::Group(inner) => check(&inner.elem, errors),
        _ => {}
    }
}

/// A map type, by name: `HashMap`, `BTreeMap`, `IndexMap` (from any
/// crate), `serde_json::Map`.
struct Map<'a> {
    key: &'a Type,
    value: &'a Type,
}

impl<'a> Map<'a> {
    fn of(path: &'a Path) -> Option<Map<'a>> {
        let last = path.segments.last()?;
        let is_map = matches!(
            last.ident.to_string().as_str(),
            "HashMap" | "BTreeMap" | "IndexMap"
        ) || (last.ident == "Map"
            && path.segments.iter().any(|s| s.ident == "serde_json"));
        if !is_map {
            return None;
        }
        let mut arguments = type_arguments(path);
        Some(Map {
            key: arguments.next()?,
            value: arguments.next()?,
        })
    }

    fn report(&self, ty: &Type, errors: &mut Errors) {
        let (map, key, value) = (
            type_string(ty),
            type_string(self.key),
            type_string(self.value),
        );
        if is_string(self.key) {
            errors.at(
                ty,
                format!(
                    "`{map}`: strict mode refuses free-form maps (every object must list its \
                     properties and set `additionalProperties: false`); use a list of entries, \
                     e.g. `Vec<Entry>` with `struct Entry {{ key: String, value: {value} }}`, \
                     or a struct whose fields are the keys"
                ),
            );
        } else {
            errors.at(
                self.key,
                format!(
                    "`{map}`: a map with `{key}` keys cannot be expressed in strict mode (JSON \
                     object keys are strings, and strict mode refuses free-form objects \
                     anyway); use a list of entries, e.g. `Vec<Entry>` with \
                     `struct Entry {{ key: {key}, value: {value} }}`"
                ),
            );
        }
    }
}

/// `String`, `str`, `&str`, `Box<str>`, `Cow<str>`...: keys serde writes
/// as they are.
fn is_string(ty: &Type) -> bool {
    match ty {
        Type::Reference(inner) => is_string(&inner.elem),
        Type::Paren(inner) => is_string(&inner.elem),
        Type::Group(inner) => is_string(&inner.elem),
        Type::Path(ty_path) if ty_path.qself.is_none() => {
            let Some(last) = ty_path.path.segments.last() else {
                return false;
            };
            match last.ident.to_string().as_str() {
                "String" | "str" => last.arguments.is_empty(),
                "Box" | "Rc" | "Arc" | "Cow" => {
                    type_arguments(&ty_path.path).next().is_some_and(is_string)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// `serde_json::Value`, under any path that goes through `serde_json`.
fn is_json_value(path: &Path) -> bool {
    path.segments.len() > 1
        && path.segments.last().is_some_and(|s| s.ident == "Value")
        && path.segments.iter().any(|s| s.ident == "serde_json")
}

/// Whether `path` names the type being derived: `Self`, `Owner`, or
/// `crate::...::Owner` (`self::`, `super::`). `other::Owner` is another type.
fn names_owner(path: &Path, owner: &Ident) -> bool {
    let (Some(first), Some(last)) = (path.segments.first(), path.segments.last()) else {
        return false;
    };
    first.ident == "Self"
        || (last.ident == *owner
            && (path.segments.len() == 1
                || (path.leading_colon.is_none()
                    && ["crate", "self", "super"]
                        .iter()
                        .any(|root| first.ident == root))))
}

/// The type arguments of every segment of `path` (`Vec<T>`, `a::B<C>::D<E>`).
fn type_arguments(path: &Path) -> impl Iterator<Item = &Type> {
    path.segments
        .iter()
        .filter_map(|segment| match &segment.arguments {
            PathArguments::AngleBracketed(arguments) => Some(arguments.args.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
}

/// A type as a person writes it: `HashMap<u32, Vec<String>>`, `&'a str`.
fn type_string(ty: &Type) -> String {
    let spaced = ty.to_token_stream().to_string();
    let chars: Vec<char> = spaced.chars().collect();
    let mut out = String::with_capacity(spaced.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
            if word(chars.get(i.wrapping_sub(1))) && word(chars.get(i + 1)) {
                out.push(' ');
            }
        } else {
            out.push(c);
            if c == ',' {
                out.push(' ');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(input: DeriveInput) -> Vec<String> {
        let container = Container::read(&input, &mut Errors::default());
        let mut errors = Errors::default();
        check(&input, &container, &mut errors);
        errors.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn types_are_written_as_in_code() {
        let ty: Type = syn::parse_quote!(std::collections::HashMap<u32, Vec<&'a str>>);
        assert_eq!(
            type_string(&ty),
            "std::collections::HashMap<u32, Vec<&'a str>>"
        );
        let ty: Type = syn::parse_quote!((u8, String));
        assert_eq!(type_string(&ty), "(u8, String)");
    }

    #[test]
    fn string_keys() {
        for key in [
            quote::quote!(String),
            quote::quote!(&'static str),
            quote::quote!(std::borrow::Cow<'static, str>),
            quote::quote!(Box<str>),
        ] {
            assert!(is_string(&syn::parse2(key).unwrap()));
        }
        assert!(!is_string(&syn::parse_quote!(u32)));
        assert!(!is_string(&syn::parse_quote!(Box<u32>)));
    }

    #[test]
    fn llm_attributes_go_on_the_type() {
        let input: DeriveInput = syn::parse_quote! {
            struct S {
                #[llm(name = "x")]
                a: u8,
                #[llm(partial)]
                b: Vec<Joke>,
            }
        };
        let messages = messages(input);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].starts_with("#[llm(...)] goes on the type"));
    }

    #[test]
    fn accepted_shapes() {
        let input: DeriveInput = syn::parse_quote! {
            struct Ok {
                a: Option<Vec<Box<other::Ok>>>,
                b: [u8; 4],
                c: (),
                #[serde(skip)]
                d: HashMap<u32, Ok>,
                #[schemars(with = "Vec<Entry>")]
                e: HashMap<u32, String>,
                f: Vec<std::collections::HashSet<String>>,
            }
        };
        assert_eq!(messages(input), Vec::<String>::new());
    }

    #[test]
    fn every_mistake_is_reported() {
        let input: DeriveInput = syn::parse_quote! {
            struct Node {
                a: Option<Box<Node>>,
                b: Vec<Self>,
                c: crate::tree::Node,
                d: HashMap<String, u8>,
                e: Option<std::collections::BTreeMap<u32, u8>>,
                f: serde_json::Map<String, serde_json::Value>,
                g: Vec<::serde_json::Value>,
                h: (u8, String),
                #[schemars(with = "IndexMap<i64, u8>")]
                i: Vec<Entry>,
            }
        };
        let messages = messages(input);
        assert_eq!(messages.len(), 9, "{messages:#?}");
        assert!(messages[0].starts_with("recursive types are refused"));
        assert!(messages[3].contains("refuses free-form maps"));
        assert!(messages[4].contains("a map with `u32` keys"));
        assert!(messages[6].contains("accepts any JSON"));
        assert!(messages[7].contains("tuples"));
        assert!(messages[8].contains("a map with `i64` keys"));
    }
}
