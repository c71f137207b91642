use serde_json::{Value, json};

use crate::message::{FunctionCall, Message, ToolCall};
use crate::options::CallOptions;
use crate::{Deployment, Model, Provider};

fn body_of(messages: &[Message], options: &CallOptions) -> crate::Result<Value> {
    let resolved = Deployment::new(Model::Claude4_5Sonnet, Provider::Anthropic)
        .api_key("k")
        .resolve()?;
    let bytes = super::body(&resolved, messages, options, false)?;
    Ok(serde_json::from_slice(&bytes).expect("the body is JSON"))
}

fn calling(arguments: &str) -> Vec<Message> {
    vec![
        Message::user("hi"),
        Message::assistant_tool_calls([ToolCall {
            id: "call_1".to_owned(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: "f".to_owned(),
                arguments: arguments.to_owned(),
            },
            thought_signature: None,
        }]),
    ]
}

#[test]
fn tool_arguments_are_checked_as_a_value_would_be() {
    let options = CallOptions::new();
    let body = body_of(
        &calling(r#" {"a": [1, {"b": null}], "c": "\u00e9"} "#),
        &options,
    );
    let input = &body.expect("valid arguments")["messages"][1]["content"][0]["input"];
    assert_eq!(input, &json!({"a": [1, {"b": null}], "c": "é"}));
    let body = body_of(&calling("  "), &options).expect("no arguments");
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
    for bad in ["{not json", "1e400", "[1,]", "{} {}"] {
        let expected = serde_json::from_str::<Value>(bad).unwrap_err();
        let error = body_of(&calling(bad), &options).unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "the arguments of tool call `call_1` are not JSON: {expected}"
            )),
            "{error}"
        );
    }
}

/// Feeds events to a fresh decoder: the chunks, or the first error.
fn decode_all(events: &[Value]) -> crate::Result<Vec<crate::StreamChunk>> {
    use crate::protocol::StreamDecoder;
    let mut decoder = super::Decoder::new("anthropic");
    let mut out = Vec::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        decoder.decode(kind, &event.to_string(), &mut out)?;
    }
    Ok(out)
}

fn decode_error(events: &[Value]) -> String {
    match decode_all(events) {
        Err(crate::Error::Decode { message, .. }) => message,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn events_out_of_protocol_order_are_decode_errors() {
    let start = json!({"type": "message_start", "message": {"id": "msg_A"}});
    let block = json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "text", "text": ""}});
    let delta = json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": "x"}});
    let stop_block = json!({"type": "content_block_stop", "index": 0});
    let stop = json!({"type": "message_stop"});
    let ping = json!({"type": "ping"});

    let good = [&start, &ping, &block, &delta, &stop_block, &stop].map(Clone::clone);
    assert_eq!(decode_all(&good).expect("in order").len(), 1);

    for (events, expected) in [
        (
            vec![&start, &delta],
            "`content_block_delta` for content block 0, which never started",
        ),
        (
            vec![&start, &stop_block],
            "`content_block_stop` for content block 0, which never started",
        ),
        (
            vec![&start, &block, &stop_block, &stop_block],
            "after its `content_block_stop`",
        ),
        (
            vec![&start, &block, &block],
            "content block 0 started twice",
        ),
        (
            vec![&start, &block, &start],
            "a second `message_start` (message `msg_A`) inside message `msg_A`",
        ),
        (vec![&block], "`content_block_start` before `message_start`"),
        (vec![&stop], "`message_stop` before `message_start`"),
        (vec![&start, &stop, &ping], "`ping` after `message_stop`"),
        (
            vec![&start, &stop, &start],
            "`message_start` after `message_stop`",
        ),
        (
            vec![&start, &stop, &delta],
            "`content_block_delta` after `message_stop`",
        ),
    ] {
        let events: Vec<Value> = events.into_iter().cloned().collect();
        let message = decode_error(&events);
        assert!(
            message.contains(expected),
            "{message} (expected: {expected})"
        );
    }
}

#[test]
fn extras_keep_their_order_and_replace_fields_in_place() {
    let mut options = CallOptions::new();
    for (key, value) in [
        ("top_k", json!(5)),
        ("tools", json!([{"name": "raw", "input_schema": {}}])),
        ("seed", json!(1)),
        ("metadata", json!({"user_id": "x"})),
        ("thinking", json!({"type": "enabled"})),
        ("max_tokens", json!(9)),
    ] {
        options = options.extra(key, value);
    }
    let body = body_of(&[Message::user("hi")], &options).expect("a body");
    let keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "model",
            "max_tokens",
            "messages",
            "top_k",
            "tools",
            "metadata",
            "thinking"
        ]
    );
    assert_eq!(body["max_tokens"], 9);
    // `extra` is a pass-through: its tools are sent untouched.
    assert_eq!(body["tools"], json!([{"name": "raw", "input_schema": {}}]));
}

#[test]
fn stream_events_read_by_hand_as_the_derived_types_did() {
    use super::{Decoder, Flow, StreamDecoder};
    use crate::response::FinishReason;
    let mut decoder = Decoder::new("anthropic");
    let mut out = Vec::new();
    for (event, data) in [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}"#,
        ),
        // Keys in any order, escapes in type names, unknown fields.
        (
            "content_block_delta",
            r#"{"delta":{"partial_json":"{\"a\"","type":"input_json_\u0064elta"},"index":1,"type":"content_block_delta","x":[1]}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":null}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"refusal","stop_details":{"explanation":"no"}},"usage":{"output_tokens":7}}"#,
        ),
    ] {
        assert_eq!(
            decoder.decode(event, data, &mut out).unwrap(),
            Flow::Continue,
            "{data}"
        );
    }
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].tool_calls[0].name.as_deref(), Some("f"));
    assert_eq!(out[1].tool_calls[0].arguments.as_deref(), Some("{\"a\""));
    assert_eq!(out[2].content.as_deref(), Some("hi"));
    assert_eq!(out[3].finish_reason, Some(FinishReason::Refusal));
    assert_eq!(out[3].refusal.as_deref(), Some("no"));
    assert_eq!(
        out[3]
            .usage
            .map(|usage| (usage.input_tokens, usage.output_tokens)),
        Some((5, 7))
    );
    let stop = decoder.decode("message_stop", r#"{"type":"message_stop"}"#, &mut out);
    assert_eq!(stop.unwrap(), Flow::Done);
    for bad in [
        r#"{"type":"content_block_delta","type":"ping"}"#,
        r#"{"type":"content_block_delta","index":-1}"#,
        r#"{"type":"content_block_delta"} x"#,
    ] {
        let error = decoder.decode("content_block_delta", bad, &mut out);
        assert!(
            matches!(error, Err(crate::Error::Decode { .. })),
            "{bad}: {error:?}"
        );
    }
    let error = decoder.decode(
        "message",
        r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
        &mut out,
    );
    assert!(matches!(error, Err(crate::Error::Provider(_))), "{error:?}");
}
