// Response types grow: outside llmax they are built with constructors or
// `Default`, never with struct literals, so adding a field is not breaking.
// Wire helpers are internal.
fn main() {
    let _ = llmax::Usage {
        input_tokens: 1,
        ..Default::default()
    };
    let _ = llmax::StreamChunk {
        index: 0,
        ..Default::default()
    };
    let _ = llmax::ToolCallDelta {
        index: 0,
        ..Default::default()
    };
    let _ = llmax::AssistantMessage {
        content: None,
        ..Default::default()
    };
    let _ = llmax::FinishReason::from_wire("stop");
    let _ = llmax::catalog::closest("gpt-4oo", ["gpt-4o"]);
}
