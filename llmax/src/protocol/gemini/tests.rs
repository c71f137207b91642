//! Unit tests of the Gemini translation: schemas in the OpenAPI subset,
//! streamed argument paths, usage and finish reasons.

use serde_json::{Map, Value, json};

use super::response::{WireUsage, finish_reason};
use super::stream::{Piece, place};
use crate::message::Message;
use crate::options::{CallOptions, ResponseFormat};
use crate::response::{FinishReason, Usage};
use crate::{Deployment, Model, Provider, Tool};

/// The body for gemini-2.5-flash, as if the manifest did not mark it
/// `json_schema` when `json_schema` is false.
fn body_of(json_schema: bool, options: &CallOptions) -> Value {
    let mut resolved = Deployment::new(Model::Gemini2_5Flash, Provider::Gemini)
        .api_key("k")
        .resolve()
        .expect("a valid deployment");
    if !json_schema {
        let mut info = *resolved.model;
        info.capabilities.json_schema = false;
        resolved.model = Box::leak(Box::new(info));
    }
    let bytes =
        super::body(&resolved, &[Message::user("Hi")], options, false).expect("a valid request");
    serde_json::from_slice(&bytes).expect("the body is JSON")
}

fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "description": "Who"},
            "age": {"type": ["integer", "null"], "minimum": 0},
            "kind": {"const": "person"},
            "home": {"$ref": "#/$defs/Place"},
            "tags": {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/Place"}, {"type": "null"}]}},
        },
        "required": ["name", "age", "kind", "home", "tags"],
        "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    })
}

#[test]
fn json_schema_models_get_the_schema_as_it_is() {
    let options = CallOptions::new()
        .response_format(ResponseFormat::json_schema("person", schema()))
        .tools([Tool::new("find", "Find", schema())]);
    let body = body_of(true, &options);
    assert_eq!(body["generationConfig"]["responseJsonSchema"], schema());
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        schema()
    );
}

#[test]
fn other_models_get_the_openapi_subset() {
    let place =
        json!({"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]});
    let expected = json!({
        "type": "OBJECT",
        "properties": {
            "name": {"type": "STRING", "description": "Who"},
            "age": {"type": "INTEGER", "nullable": true, "minimum": 0},
            "kind": {"enum": ["person"]},
            "home": place,
            "tags": {"type": "ARRAY", "items": {
                "nullable": true, "type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"],
            }},
        },
        "required": ["name", "age", "kind", "home", "tags"],
    });
    let options = CallOptions::new()
        .response_format(ResponseFormat::json_schema("person", schema()))
        .tools([Tool::new("find", "Find", schema())]);
    let body = body_of(false, &options);
    assert_eq!(body["generationConfig"]["responseSchema"], expected);
    assert!(body["generationConfig"].get("responseJsonSchema").is_none());
    let declaration = &body["tools"][0]["functionDeclarations"][0];
    assert_eq!(declaration["parameters"], expected);
    assert!(declaration.get("parametersJsonSchema").is_none());
    // JSON mode is the MIME type alone.
    let body = body_of(
        false,
        &CallOptions::new().response_format(ResponseFormat::JsonObject),
    );
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
}

#[test]
fn recursive_schemas_are_cut_not_looped() {
    let recursive = json!({
        "$ref": "#/$defs/Node",
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
    });
    let converted = super::openapi_schema(&recursive);
    let mut depth = 0;
    let mut node = &converted;
    while let Some(next) = node.get("properties").and_then(|p| p.get("next")) {
        node = next;
        depth += 1;
    }
    assert!((10..=40).contains(&depth), "{depth}");
}

#[test]
fn streamed_arguments_land_at_their_paths() {
    let mut root = Map::new();
    place(&mut root, "$.a", Piece::Text("he".into())).unwrap();
    place(&mut root, "$.a", Piece::Text("llo".into())).unwrap();
    place(&mut root, "$.b.c[1]", Piece::Whole(json!(2))).unwrap();
    place(&mut root, "$['d e']", Piece::Whole(Value::Null)).unwrap();
    place(&mut root, "$.f[0].g", Piece::Whole(json!(true))).unwrap();
    assert_eq!(
        Value::Object(root.clone()),
        json!({"a": "hello", "b": {"c": [null, 2]}, "d e": null, "f": [{"g": true}]})
    );
    for bad in ["a", "$[0]", "$.x[y]", "$.x[99999999]", "$~"] {
        assert!(
            place(&mut root, bad, Piece::Whole(json!(1))).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn usage_counts_thoughts_as_output_and_tool_prompts_as_input() {
    let wire: WireUsage = serde_json::from_value(json!({
        "promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 30,
        "cachedContentTokenCount": 60, "toolUsePromptTokenCount": 5, "totalTokenCount": 155
    }))
    .unwrap();
    assert_eq!(
        Usage::from(wire),
        Usage::new(105, 50)
            .with_reasoning_tokens(30)
            .with_cached_input_tokens(60)
    );
    let huge: WireUsage =
        serde_json::from_value(json!({"candidatesTokenCount": u64::MAX, "thoughtsTokenCount": 9}))
            .unwrap();
    assert_eq!(Usage::from(huge).output_tokens, u64::MAX);
}

#[test]
fn finish_reasons() {
    assert_eq!(finish_reason("STOP", false), FinishReason::Stop);
    assert_eq!(finish_reason("STOP", true), FinishReason::ToolCalls);
    assert_eq!(finish_reason("MAX_TOKENS", false), FinishReason::Length);
    for filtered in [
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
    ] {
        assert_eq!(finish_reason(filtered, false), FinishReason::ContentFilter);
    }
    assert_eq!(
        finish_reason("MALFORMED_FUNCTION_CALL", true),
        FinishReason::Other("MALFORMED_FUNCTION_CALL".into())
    );
}

#[test]
fn paths_name_the_model_once() {
    assert_eq!(
        super::chat_path("gemini-2.5-flash"),
        "/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        super::stream_path("tunedModels/mine"),
        "/tunedModels/mine:streamGenerateContent?alt=sse"
    );
}
