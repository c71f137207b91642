//! The impls that turn a generated enum into its manifest name and back:
//! `Display`, `FromStr` and serde's `Serialize` and `Deserialize`.
//!
//! They lean on the enum's `ALL` and `as_str`, so they are the same for
//! `Model` and `Provider`.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// `Display`, `FromStr`, `Serialize` and `Deserialize` for `ty`, whose
/// values are `what`s (`"model"`, `"provider"`) named as in the manifest.
pub fn name_impls(ty: &Ident, what: &str) -> TokenStream {
    let display = display_impl(ty);
    let from_str = from_str_impl(ty, what);
    let serialize = serialize_impl(ty);
    let deserialize = deserialize_impl(ty, what);
    quote! {
        #display
        #from_str
        #serialize
        #deserialize
    }
}

/// `Display`: the manifest name, padded as asked.
fn display_impl(ty: &Ident) -> TokenStream {
    quote! {
        impl ::core::fmt::Display for #ty {
            /// The manifest name.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.pad(self.as_str())
            }
        }
    }
}

/// `FromStr`: the value of a manifest name, or `UnknownName`.
fn from_str_impl(ty: &Ident, what: &str) -> TokenStream {
    quote! {
        impl ::core::str::FromStr for #ty {
            type Err = ::llmax::catalog::UnknownName;

            /// The value of that manifest name; an unknown name is an
            /// error that suggests the closest known one.
            fn from_str(name: &str) -> ::core::result::Result<Self, Self::Err> {
                match #ty::ALL.iter().find(|value| value.as_str() == name) {
                    ::core::option::Option::Some(value) => ::core::result::Result::Ok(*value),
                    ::core::option::Option::None => ::core::result::Result::Err(
                        ::llmax::catalog::UnknownName::new(
                            #what,
                            name,
                            #ty::ALL.iter().map(|value| value.as_str()),
                        ),
                    ),
                }
            }
        }
    }
}

/// `Serialize`: the manifest name, as a string.
fn serialize_impl(ty: &Ident) -> TokenStream {
    quote! {
        impl ::llmax::__private::serde::Serialize for #ty {
            /// Serialized as its manifest name.
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: ::llmax::__private::serde::Serializer,
            {
                serializer.serialize_str(self.as_str())
            }
        }
    }
}

/// `Deserialize`: from a manifest name, through `FromStr`.
fn deserialize_impl(ty: &Ident, what: &str) -> TokenStream {
    let expecting = format!("a {what} name of this catalog");
    quote! {
        impl<'de> ::llmax::__private::serde::Deserialize<'de> for #ty {
            /// Deserialized from its manifest name; an unknown name is an
            /// error that suggests the closest known one.
            fn deserialize<D>(deserializer: D) -> ::core::result::Result<Self, D::Error>
            where
                D: ::llmax::__private::serde::Deserializer<'de>,
            {
                struct Visitor;

                impl ::llmax::__private::serde::de::Visitor<'_> for Visitor {
                    type Value = #ty;

                    fn expecting(
                        &self,
                        f: &mut ::core::fmt::Formatter<'_>,
                    ) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }

                    fn visit_str<E>(self, name: &str) -> ::core::result::Result<#ty, E>
                    where
                        E: ::llmax::__private::serde::de::Error,
                    {
                        name.parse().map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(Visitor)
            }
        }
    }
}
