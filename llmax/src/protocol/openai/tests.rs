use super::*;

#[test]
fn mistral_thinking_parts_are_kept_apart_from_the_answer() {
    let body = br#"{"choices":[{"message":{"content":[
        {"type":"thinking","thinking":[{"type":"text","text":"Two and two..."}]},
        {"type":"text","text":"Four."}
    ]},"finish_reason":"stop"}]}"#;
    let parsed = parse("mistral", body).unwrap();
    let message = &parsed.choices[0].message;
    assert_eq!(message.content.as_deref(), Some("Four."));
    assert_eq!(message.reasoning.as_deref(), Some("Two and two..."));
}

#[test]
fn content_of_the_wrong_type_is_a_decode_error() {
    let error = parse("openai", br#"{"choices":[{"message":{"content":42}}]}"#).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a string or a list of content parts"),
        "{error}"
    );
}

fn decoded(events: &[&str]) -> Result<Vec<StreamChunk>> {
    let mut decoder = Decoder::new("openai");
    let mut out = Vec::new();
    for event in events {
        decoder.decode("message", event, &mut out)?;
    }
    Ok(out)
}

#[test]
fn stream_events_read_by_hand_as_the_derived_types_did() {
    // Nulls, unknown fields, escapes, several choices, usage without
    // choices, whitespace around the data.
    let chunks = decoded(&[
        r#" {"id":"x","choices":[{"index":1,"delta":{"role":"assistant","content":"a\"b","refusal":null},"logprobs":null,"finish_reason":null},
            {"delta":null,"finish_reason":"st\u006fp"}],"usage":null} "#,
        r#"{"choices":null,"x_groq":{"usage":{"prompt_tokens":3,"completion_tokens":4}}}"#,
        r#"{"choices":[{"delta":{"reasoning":"r","reasoning_content":"rc","content":[{"type":"thinking","thinking":"t"}]}}]}"#,
    ])
    .unwrap();
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        (chunks[0].index, chunks[0].content.as_deref()),
        (1, Some("a\"b"))
    );
    assert_eq!(
        (chunks[1].index, &chunks[1].finish_reason),
        (1, &Some(FinishReason::Stop))
    );
    assert_eq!(chunks[2].usage.map(|usage| usage.output_tokens), Some(4));
    assert_eq!(chunks[3].reasoning.as_deref(), Some("rc"));
    // Tool calls without an index (Mistral) keep one per id.
    let chunks = decoded(&[
        r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":{"x":1}}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}"#,
    ])
    .unwrap();
    let calls: Vec<_> = chunks.iter().map(|chunk| &chunk.tool_calls[0]).collect();
    assert_eq!(
        calls.iter().map(|call| call.index).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    assert_eq!(calls[1].arguments.as_deref(), Some(r#"{"x":1}"#));
    // Errors: in the stream, of JSON, of types, of duplicates; no chunk
    // of a failed event is kept.
    let error = decoded(&[
        r#"{"choices":[{"delta":{"content":"x"}}],"error":{"message":"overloaded","type":"server_error"}}"#,
    ]);
    assert!(matches!(error, Err(Error::Provider(_))), "{error:?}");
    for bad in [
        r#"{"choices":[{"delta":{"content":"x"}}],"#,
        r#"{"choices":[{"delta":{"content":"x"}}]} {}"#,
        r#"{"choices":[{"index":"0"}]}"#,
        r#"{"choices":[{"delta":{"content":"x"},"delta":{}}]}"#,
        r#"[]"#,
    ] {
        let mut decoder = Decoder::new("openai");
        let mut out = Vec::new();
        let error = decoder.decode("message", bad, &mut out);
        assert!(
            matches!(error, Err(Error::Decode { .. })),
            "{bad}: {error:?}"
        );
        assert!(out.is_empty(), "{bad}");
    }
    assert_eq!(
        Decoder::new("openai")
            .decode("", " [DONE]\n", &mut Vec::new())
            .unwrap(),
        Flow::Done
    );
}
