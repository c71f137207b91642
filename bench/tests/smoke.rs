//! The suite in smoke mode: every workload but the compile one, with tiny
//! counts, through the real binary (the fake provider and the children are
//! processes of their own). Checks that both sides run and read the same;
//! measures nothing (no timing is asserted).

use std::process::Command;

#[test]
fn the_suite_runs_in_smoke_mode() {
    let output = Command::new(env!("CARGO_BIN_EXE_llmax-bench"))
        .arg("smoke")
        .output()
        .expect("the llmax-bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "llmax-bench smoke failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for workload in [
        "| 1. ", "| 2. ", "| 3. ", "| 4. ", "| 6. ", "| 7. ", "| 8. ", "| 9. ", "| 10. ",
    ] {
        assert!(
            stdout.contains(workload),
            "no row for workload {workload}in\n{stdout}"
        );
    }
    assert!(!stdout.contains("PROBLEM"), "{stdout}");
    // No thread is started per blocking call: that one is a property, not a
    // timing, so it is checked here too.
    let threads = stdout
        .lines()
        .find(|line| line.contains("threads before"))
        .expect("the thread row");
    assert!(threads.ends_with("| yes |"), "{threads}");
}

#[test]
fn the_fake_provider_serves_the_protocols_and_embeddings() {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_llmax-bench"));
    let server = llmax_bench::server::ServerProcess::spawn(&exe, None).expect("it starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let floor = llmax_bench::floor::Floor::new(&server.url());
    runtime.block_on(async {
        let conversation = llmax_bench::CONVERSATION;
        let answer = floor.openai(&conversation).await.unwrap();
        assert!(answer.text.starts_with("**Holiday Name:**"));
        let answer = floor.anthropic(&conversation).await.unwrap();
        assert!(answer.text.starts_with("Hello!"));
        let response = floor.openai_open(&conversation, 7, 1).await.unwrap();
        let read = llmax_bench::floor::Floor::openai_read(response)
            .await
            .unwrap();
        assert_eq!(read.content_chunks, 7);
        assert_eq!(read.output_tokens, Some(300));
        let response = floor.anthropic_open(&conversation, 500, 0).await.unwrap();
        let read = llmax_bench::floor::Floor::anthropic_read(response)
            .await
            .unwrap();
        assert_eq!(read.content_chunks, 500);
        assert_eq!(read.output_tokens, Some(30));
        let answer = floor.gemini(&conversation).await.unwrap();
        assert!(answer.text.starts_with("There are **3**"));
        assert_eq!(answer.tokens, 9 + 28 + 244);
        let response = floor.gemini_open(&conversation, 5, 0).await.unwrap();
        let read = llmax_bench::floor::Floor::gemini_read(response)
            .await
            .unwrap();
        assert_eq!(read.content_chunks, 5);
        assert_eq!(read.output_tokens, Some(23 + 185));
        // Embeddings: the recorded numbers, as JSON or base64 alike.
        let inputs = ["a".to_owned(), "b".to_owned()];
        let float = floor.embeddings(&inputs, false).await.unwrap();
        assert_eq!(float.vectors.len(), 2);
        assert_eq!(float.vectors[0].len(), 1536);
        assert_eq!(float.vectors[0][0], 0.005_729_319_5);
        assert_eq!(float.vectors[1][0], float.vectors[0][1]);
        assert_eq!(float.tokens, 16);
        let base64 = floor.embeddings(&inputs, true).await.unwrap();
        assert_eq!(base64.vectors, float.vectors);
    });
}
