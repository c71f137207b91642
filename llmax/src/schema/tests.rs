//! Unit tests of the strict-schema rewrite.

use super::*;
use serde_json::json;

fn strict(mut schema: Value) -> Value {
    make_strict(&mut schema);
    let once = schema.clone();
    make_strict(&mut schema);
    assert_eq!(schema, once, "make_strict is idempotent");
    schema
}

#[test]
fn nested_objects_are_closed_and_fully_required() {
    let schema = strict(json!({
        "type": "object",
        "properties": {
            "inner": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
                "required": ["a"]
            },
            "list": {"type": "array", "items": {"properties": {"c": {"type": "number"}}}}
        }
    }));
    assert_eq!(
        schema,
        json!({
            "type": "object",
            "properties": {
                "inner": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
                    "required": ["a", "b"],
                    "additionalProperties": false
                },
                "list": {"type": "array", "items": {
                    "properties": {"c": {"type": "number"}},
                    "required": ["c"],
                    "additionalProperties": false
                }}
            },
            "required": ["inner", "list"],
            "additionalProperties": false
        })
    );
}

#[test]
fn an_optional_property_is_nullable_only_if_it_was() {
    let schema = strict(json!({
        "type": "object",
        "properties": {
            "with_default": {"type": "integer", "default": 3},
            "option": {"type": ["string", "null"]},
            "option_object": {"anyOf": [{"type": "object", "properties": {}}, {"type": "null"}]}
        }
    }));
    assert_eq!(
        schema["required"],
        json!(["with_default", "option", "option_object"])
    );
    assert_eq!(
        schema["properties"]["with_default"],
        json!({"type": "integer"})
    );
    assert_eq!(
        schema["properties"]["option"],
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        schema["properties"]["option_object"],
        json!({"anyOf": [
            {"type": "object", "properties": {}, "required": [], "additionalProperties": false},
            {"type": "null"}
        ]})
    );
}

#[test]
fn nullable_objects_and_arrays_become_any_of() {
    let schema = strict(json!({
        "type": "object",
        "properties": {
            "address": {
                "description": "Where.",
                "type": ["object", "null"],
                "properties": {"street": {"type": "string", "minLength": 1}},
                "required": ["street"]
            },
            "tags": {"type": ["array", "null"], "items": {"type": "string"}}
        },
        "required": []
    }));
    assert_eq!(
        schema["properties"]["address"],
        json!({
            "description": "Where.",
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"street": {"type": "string"}},
                    "required": ["street"],
                    "additionalProperties": false
                },
                {"type": "null"}
            ]
        })
    );
    assert_eq!(
        schema["properties"]["tags"],
        json!({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]})
    );
}

#[test]
fn one_of_becomes_any_of_and_variant_descriptions_stay() {
    let schema = strict(json!({
        "type": "object",
        "properties": {"color": {
            "description": "A colour.",
            "oneOf": [
                {"description": "Red!", "type": "string", "const": "Red"},
                {"type": "object", "properties": {"Rgb": {"type": "integer", "format": "uint32"}}, "required": ["Rgb"]}
            ]
        }},
        "required": ["color"]
    }));
    assert_eq!(
        schema["properties"]["color"],
        json!({
            "description": "A colour.",
            "anyOf": [
                {"description": "Red!", "type": "string", "const": "Red"},
                {
                    "type": "object",
                    "properties": {"Rgb": {"type": "integer"}},
                    "required": ["Rgb"],
                    "additionalProperties": false
                }
            ]
        })
    );
}

#[test]
fn a_union_in_a_union_is_merged() {
    let schema = strict(json!({
        "type": "object",
        "properties": {
            "documented": {
                "description": "The field.",
                "anyOf": [
                    {"description": "The enum.", "oneOf": [{"const": "A"}, {"const": "B"}]},
                    {"type": "null"}
                ]
            },
            "undocumented": {
                "anyOf": [
                    {"description": "The enum.", "oneOf": [{"const": "A"}, {"const": "B"}]},
                    {"type": "null"}
                ]
            },
            "kept": {"anyOf": [{"type": "string", "anyOf": [{"const": "A"}]}, {"type": "null"}]}
        }
    }));
    assert_eq!(
        schema["properties"],
        json!({
            "documented": {
                "description": "The field.",
                "anyOf": [{"const": "A"}, {"const": "B"}, {"type": "null"}]
            },
            "undocumented": {
                "description": "The enum.",
                "anyOf": [{"const": "A"}, {"const": "B"}, {"type": "null"}]
            },
            "kept": {"anyOf": [{"type": "string", "anyOf": [{"const": "A"}]}, {"type": "null"}]}
        })
    );
}

#[test]
fn a_flattened_union_takes_the_outer_properties() {
    let schema = strict(json!({
        "type": "object",
        "properties": {"outer": {"type": "object", "properties": {
            "x": {"type": "integer"},
            "a": {"type": "string"}
        }}}
    }));
    let mut flattened = json!({
        "description": "Outer.",
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "oneOf": [
            {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
            {"type": "object", "properties": {}}
        ]
    });
    make_strict(&mut flattened);
    assert_eq!(
        flattened,
        json!({
            "description": "Outer.",
            "anyOf": [
                schema["properties"]["outer"],
                {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "required": ["a"],
                    "additionalProperties": false
                }
            ]
        })
    );
}

#[test]
fn an_empty_object_lists_no_properties() {
    assert_eq!(
        strict(json!({"type": "object"})),
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
    );
}

#[test]
fn refused_keywords_are_removed_everywhere() {
    let schema = strict(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "x",
        "$comment": "c",
        "title": "Root",
        "description": "Kept.",
        "type": "object",
        "properties": {
            "n": {"type": "number", "format": "double", "minimum": 0, "maximum": 1,
                  "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.5,
                  "default": 0.5, "examples": [0.5], "deprecated": true, "title": "N"},
            "s": {"type": "string", "minLength": 1, "maxLength": 2, "pattern": "^a",
                  "readOnly": true, "writeOnly": false, "contentEncoding": "base64",
                  "contentMediaType": "text/plain"},
            "a": {"type": "array", "items": {"type": "string", "format": "uuid"},
                  "minItems": 1, "maxItems": 3, "uniqueItems": true}
        },
        "required": ["n", "s", "a"]
    }));
    assert_eq!(
        schema,
        json!({
            "description": "Kept.",
            "type": "object",
            "properties": {
                "n": {"type": "number", "title": "N"},
                "s": {"type": "string"},
                "a": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["n", "s", "a"],
            "additionalProperties": false
        })
    );
}

#[test]
fn maps_and_free_form_schemas_are_left_for_the_provider_to_refuse() {
    let schema = strict(json!({
        "type": "object",
        "properties": {
            "map": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
            "any": true
        },
        "required": ["map", "any"]
    }));
    assert_eq!(
        schema["properties"],
        json!({
            "map": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "required": []
            },
            "any": true
        })
    );
}

#[test]
fn defs_of_recursive_types_are_rewritten_too() {
    let schema = strict(json!({
        "type": "object",
        "properties": {"next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}},
        "$defs": {"Node": {
            "title": "Node",
            "type": "object",
            "properties": {"value": {"type": "integer", "format": "int64"}}
        }}
    }));
    assert_eq!(
        schema["$defs"]["Node"],
        json!({
            "title": "Node",
            "type": "object",
            "properties": {"value": {"type": "integer"}},
            "required": ["value"],
            "additionalProperties": false
        })
    );
    assert_eq!(schema["required"], json!(["next"]));
}

#[test]
fn flattened_deny_unknown_fields_is_additional_properties_false() {
    let schema = strict(json!({
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "unevaluatedProperties": false
    }));
    assert_eq!(
        schema,
        json!({
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "required": ["a"],
            "additionalProperties": false
        })
    );
}

// Plain Rust types through schemars; the derive is tested in
// tests/schema.rs, with the public API.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
/// A reading.
struct Reading {
    /// How much.
    value: u8,
    unit: Option<String>,
    at: Option<Place>,
    #[serde(default)]
    tries: u32,
    kind: Kind,
}

#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct Place {
    name: String,
}

#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[serde(tag = "type")]
enum Kind {
    /// Measured.
    Measured {
        by: String,
    },
    Guessed,
}

#[test]
fn strict_schema_of_a_rust_type() {
    assert_eq!(
        strict_schema::<Reading>(),
        json!({
            "description": "A reading.",
            "type": "object",
            "properties": {
                "at": {"anyOf": [
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                        "additionalProperties": false
                    },
                    {"type": "null"}
                ]},
                "kind": {"anyOf": [
                    {
                        "description": "Measured.",
                        "type": "object",
                        "properties": {
                            "by": {"type": "string"},
                            "type": {"type": "string", "const": "Measured"}
                        },
                        "required": ["type", "by"],
                        "additionalProperties": false
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"type": "string", "const": "Guessed"}},
                        "required": ["type"],
                        "additionalProperties": false
                    }
                ]},
                "tries": {"type": "integer"},
                "unit": {"type": ["string", "null"]},
                "value": {"description": "How much.", "type": "integer"}
            },
            "required": ["value", "unit", "at", "tries", "kind"],
            "additionalProperties": false
        })
    );
}
