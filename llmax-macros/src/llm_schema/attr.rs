//! The attributes the derive reads: `#[llm(...)]`, the doc comment, and the
//! few `#[serde(...)]` / `#[schemars(...)]` flags that change the shape of
//! the schema.

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::{Attribute, DeriveInput, Expr, ExprLit, Lit, LitStr, Meta};

use super::Errors;

/// What the derive needs from the container's attributes.
pub struct Container {
    /// `#[llm(name = "...")]`.
    pub name: Option<LitStr>,
    /// The doc comment, lines joined, trimmed; `None` if absent or blank.
    pub description: Option<String>,
    /// The `transparent` of `#[serde(transparent)]`, for its span.
    pub transparent: Option<Ident>,
}

impl Container {
    /// Reads the container attributes of `input`; a malformed `#[llm]` is
    /// recorded in `errors`. `serde` and `schemars` attributes are read
    /// leniently: their own derives report their mistakes.
    pub fn read(input: &DeriveInput, errors: &mut Errors) -> Container {
        let mut container = Container {
            name: None,
            description: doc(&input.attrs),
            transparent: None,
        };
        for attr in &input.attrs {
            if attr.path().is_ident("llm") {
                container.read_llm(attr, errors);
            } else if attr.path().is_ident("serde") {
                for (key, _) in items(attr) {
                    if key == "transparent" {
                        container.transparent = Some(key);
                    }
                }
            }
        }
        container
    }

    fn read_llm(&mut self, attr: &Attribute, errors: &mut Errors) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let name: LitStr = meta.value()?.parse()?;
                if self.name.is_some() {
                    errors.at(&name, "duplicate `name` in #[llm(...)]");
                } else {
                    self.name = Some(name);
                }
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown #[llm] attribute `{}`; expected `name = \"...\"`",
                    path_string(&meta.path)
                )))
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }

    /// The schema name: `#[llm(name)]` or the type's name, checked against
    /// what providers accept (`[a-zA-Z0-9_-]{1,64}`).
    pub fn name(&self, ident: &Ident, errors: &mut Errors) -> String {
        match &self.name {
            Some(name) => {
                let value = name.value();
                if !valid_name(&value) {
                    errors.at(
                        name,
                        format!(
                            "invalid schema name `{value}`: providers accept 1 to 64 characters \
                             among a-z, A-Z, 0-9, `_` and `-`"
                        ),
                    );
                }
                value
            }
            None => {
                let value = ident.unraw().to_string();
                if !valid_name(&value) {
                    errors.at(
                        ident,
                        format!(
                            "the type name `{value}` is not a valid schema name (providers accept \
                             1 to 64 characters among a-z, A-Z, 0-9, `_` and `-`); \
                             set one with #[llm(name = \"...\")]"
                        ),
                    );
                }
                value
            }
        }
    }
}

/// What a field's attributes change in its schema.
pub enum FieldSchema {
    /// The schema of the field's type.
    OfType,
    /// Not in the schema: `#[serde(skip)]`, `#[serde(skip_deserializing)]`,
    /// `#[schemars(skip)]`.
    Skipped,
    /// `#[schemars(with = "T")]`: the schema of `T`.
    With(LitStr),
    /// `#[schemars(schema_with = "f")]`: a function's; nothing to check.
    Custom,
}

/// How the field with these attributes is described in the schema.
pub fn field_schema(attrs: &[Attribute]) -> FieldSchema {
    let mut found = FieldSchema::OfType;
    for attr in attrs {
        let serde = attr.path().is_ident("serde");
        if !serde && !attr.path().is_ident("schemars") {
            continue;
        }
        for (key, value) in items(attr) {
            let key = key.to_string();
            match key.as_str() {
                "skip" => return FieldSchema::Skipped,
                "skip_deserializing" if serde => return FieldSchema::Skipped,
                "with" if !serde => {
                    if let Some(lit) = value.and_then(|v| syn::parse2::<LitStr>(v).ok()) {
                        found = FieldSchema::With(lit);
                    }
                }
                "schema_with" if !serde => found = FieldSchema::Custom,
                _ => {}
            }
        }
    }
    found
}

/// The doc comment: the literal `#[doc]` lines, each without the one space
/// after `///`, joined with newlines and trimmed (as schemars does for the
/// schema's `description`).
fn doc(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    let text = lines.join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The top-level items of `#[attr(a, b = "x", c(...))]`: each key, and the
/// tokens after `=` if any. Lenient: what does not look like an item is
/// skipped.
fn items(attr: &Attribute) -> Vec<(Ident, Option<TokenStream>)> {
    let Meta::List(list) = &attr.meta else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut item: Vec<TokenTree> = Vec::new();
    let mut flush = |item: &mut Vec<TokenTree>| {
        if let Some(TokenTree::Ident(key)) = item.first() {
            let value = match item.get(1) {
                Some(TokenTree::Punct(p)) if p.as_char() == '=' => {
                    Some(item[2..].iter().cloned().collect())
                }
                _ => None,
            };
            out.push((key.clone(), value));
        }
        item.clear();
    };
    for token in list.tokens.clone() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut item),
            _ => item.push(token),
        }
    }
    flush(&mut item);
    out
}

/// What providers accept as a schema or tool name.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn path_string(path: &syn::Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_providers_accept() {
        assert!(valid_name("Person"));
        assert!(valid_name("get_weather-v2"));
        assert!(valid_name(&"a".repeat(64)));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name(""));
        assert!(!valid_name("my tool"));
        assert!(!valid_name("Café"));
    }

    #[test]
    fn doc_lines_are_joined_and_trimmed() {
        let input: DeriveInput = syn::parse_quote! {
            /// A person.
            ///
            ///   Indented.
            struct P { a: u8 }
        };
        assert_eq!(
            doc(&input.attrs).as_deref(),
            Some("A person.\n\n  Indented.")
        );
        let input: DeriveInput = syn::parse_quote! {
            ///
            struct P { a: u8 }
        };
        assert_eq!(doc(&input.attrs), None);
    }

    #[test]
    fn serde_items_are_read_leniently() {
        let input: DeriveInput = syn::parse_quote! {
            #[serde(rename_all(serialize = "a", deserialize = "b"), untagged, tag = "t")]
            enum E { A }
        };
        let keys: Vec<String> = items(&input.attrs[0])
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys, ["rename_all", "untagged", "tag"]);
    }
}
