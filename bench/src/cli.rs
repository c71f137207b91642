//! The command line: runs the workloads and prints the table.
//!
//! ```text
//! llmax-bench [all] [N...] [--rounds R] [--multi-thread] [--no-pin]
//!                                    every workload (or only workloads N...);
//!                                    7 is embeddings; 8 is three deployments
//!                                    per model against one; 9 typed streaming
//!                                    (typed / plain, both llmax); 10 a SQLite
//!                                    ledger against none
//! llmax-bench smoke                  tiny counts, no compile workload (a test runs it)
//! llmax-bench serve [ADDR]           the fake provider alone (default 127.0.0.1:8089)
//! llmax-bench profile W IMPL PROTO [COUNT] [--in-flight N] [--multi-thread]
//!                                    one side of workload W (1, 2 or 3) only, for
//!                                    `valgrind --tool=callgrind`; the fake provider
//!                                    is $LLMAX_BENCH_SERVER (host:port) or a child
//! llmax-bench child memory|blocking ...   (internal: the child processes)
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::compile::{CompileReport, compile};
use crate::fixtures::{Fixtures, fixtures_dir};
use crate::measure;
use crate::server::{ServerProcess, serve};
use crate::typed::json_streams;
use crate::workloads::{
    BlockingReport, Client, Encoding, Impl, MemoryReport, Proto, Run, blocking, calls, embed_calls,
    embedding_inputs, measured, memory, streams,
};
use crate::{BoxError, Streamed};
use llmax::Strategy;

/// The sizes of a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Workload 1: sequential non-streamed calls.
    pub sequential_calls: usize,
    /// Workload 2: non-streamed calls, and how many in flight.
    pub concurrent_calls: usize,
    /// Workload 2: in flight.
    pub concurrent_in_flight: usize,
    /// Workload 3: its shapes, each `(streamed calls, in flight)`. The
    /// per-chunk ratio depends on the concurrency (an independent run
    /// measured 1.36x at 16 in flight where this suite said 1.18x at 32), so
    /// more than one is measured.
    pub streamed_shapes: Vec<(usize, usize)>,
    /// Workload 3: content chunks per stream.
    pub stream_chunks: usize,
    /// Workload 4: streams open at once.
    pub memory_streams: usize,
    /// Workload 4: chunks per stream.
    pub memory_chunks: usize,
    /// Workload 4: milliseconds between two chunks.
    pub memory_delay_ms: u64,
    /// Workload 5: generated models (0: skip the workload).
    pub compile_models: usize,
    /// Workload 5: builds of each kind.
    pub compile_reps: usize,
    /// Workload 6: blocking calls.
    pub blocking_calls: usize,
    /// Workload 7: sequential embeddings calls.
    pub embedding_calls: usize,
    /// Workload 7: inputs per call (1536-number vectors each).
    pub embedding_inputs: usize,
    /// Workloads 1-3: measured rounds of each side (the median is kept).
    pub rounds: usize,
    /// Workloads 1-3 on tokio's multi-thread runtime instead of a
    /// current-thread one. The current-thread runtime measures the client
    /// library alone; the multi-thread one adds the scheduler's own cost
    /// (wake-ups across workers), the same for both sides but noisy.
    pub multi_thread: bool,
    /// Workloads 1-3 and 6 with the client on CPU 0 and the fake provider
    /// on CPU 1 (given two CPUs or more). Unpinned, the scheduler moves
    /// between two steady states (client and server on one CPU, waking each
    /// other cheaply, or on two, waking each other across CPUs at three
    /// times the CPU cost per call), for seconds at a time: the two sides of
    /// a comparison may then be measured in different states.
    pub pin: bool,
    /// The workloads to run.
    pub only: Vec<u32>,
}

impl Config {
    /// The sizes of the issue.
    pub fn full() -> Config {
        Config {
            sequential_calls: 2000,
            concurrent_calls: 2000,
            concurrent_in_flight: 64,
            streamed_shapes: vec![(500, 32), (200, 16)],
            stream_chunks: 256,
            memory_streams: 5000,
            memory_chunks: 100,
            memory_delay_ms: 10,
            compile_models: 2000,
            compile_reps: 3,
            blocking_calls: 2000,
            embedding_calls: 300,
            embedding_inputs: 16,
            rounds: 11,
            multi_thread: false,
            pin: true,
            only: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    }

    /// Tiny sizes: checks that everything runs, measures nothing.
    pub fn smoke() -> Config {
        Config {
            sequential_calls: 20,
            concurrent_calls: 40,
            concurrent_in_flight: 8,
            streamed_shapes: vec![(8, 4), (4, 2)],
            stream_chunks: 32,
            memory_streams: 40,
            memory_chunks: 10,
            memory_delay_ms: 20,
            compile_models: 0,
            compile_reps: 0,
            blocking_calls: 20,
            embedding_calls: 4,
            embedding_inputs: 3,
            rounds: 1,
            multi_thread: false,
            pin: true,
            only: vec![1, 2, 3, 4, 6, 7, 8, 9, 10],
        }
    }
}

/// Runs a command line (without the program name); `exe` is the binary to
/// start for the fake provider and the child processes (this one, usually).
/// Returns the exit code.
pub fn run(args: &[String], exe: &Path) -> i32 {
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| *arg != "--bench")
        .collect();
    let result = match args.first().copied() {
        Some("help" | "-h" | "--help") => {
            eprintln!("{USAGE}");
            Ok(true)
        }
        Some("all") => parse_config(Config::full(), &args[1..]).and_then(|c| suite(&c, exe)),
        Some("smoke") => parse_config(Config::smoke(), &args[1..]).and_then(|c| suite(&c, exe)),
        // `cargo bench -p llmax-bench -- 1 3`: `all` is implied.
        None => parse_config(Config::full(), &[]).and_then(|c| suite(&c, exe)),
        Some(first) if first.starts_with("--") || first.parse::<u32>().is_ok() => {
            parse_config(Config::full(), &args).and_then(|c| suite(&c, exe))
        }
        Some("serve") => serve_command(&args[1..]),
        Some("child") => child(&args[1..]),
        Some("profile") => profile(&args[1..], exe),
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}").into()),
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => {
            eprintln!("llmax-bench: {error}");
            2
        }
    }
}

const USAGE: &str = "usage: llmax-bench [all [N...] [--rounds R] [--multi-thread] [--no-pin] | smoke | serve [ADDR] | profile W llmax|floor openai|anthropic|gemini [COUNT] [--in-flight N]]";

fn parse_config(mut config: Config, args: &[&str]) -> Result<Config, BoxError> {
    let mut only = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--rounds" => {
                config.rounds = rest.next().ok_or("--rounds needs a number")?.parse()?;
            }
            "--multi-thread" => config.multi_thread = true,
            "--no-pin" => config.pin = false,
            number => only.push(
                number
                    .parse::<u32>()
                    .map_err(|_| format!("unknown argument `{number}`\n{USAGE}"))?,
            ),
        }
    }
    if !only.is_empty() {
        config.only = only;
    }
    config.rounds = config.rounds.max(1);
    Ok(config)
}

fn serve_command(args: &[&str]) -> Result<bool, BoxError> {
    let mut addr = "127.0.0.1:8089";
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--cpu" => {
                let cpu = rest.next().ok_or("--cpu needs a CPU number")?.parse()?;
                measure::pin(&[cpu]);
            }
            other => addr = other,
        }
    }
    let addr = addr.parse()?;
    let fixtures = Fixtures::load(&fixtures_dir())?;
    serve(addr, fixtures)?;
    Ok(true)
}

fn log(message: &str) {
    eprintln!("[llmax-bench] {message}");
}

/// A line of the table.
struct Row {
    workload: String,
    llmax: String,
    floor: String,
    ratio: Option<f64>,
    /// The smallest and largest ratio of a round, where there are rounds.
    spread: Option<(f64, f64)>,
    target: String,
    met: Option<bool>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, BoxError> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    Ok(builder.enable_all().build()?)
}

/// One in-process workload: llmax against the floor, `rounds` times each,
/// alternating which goes first; checks that both read the same.
#[allow(clippy::too_many_arguments)]
fn paired(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    label: &str,
    rounds: usize,
    units: usize,
    unit: &str,
    warmup: &dyn Fn(Client) -> BoxFuture,
    work: &dyn Fn(Client) -> BoxFuture,
) -> Result<Paired, BoxError> {
    let sides = [
        ("llmax", Client::new(Impl::Llmax, base)),
        ("floor", Client::new(Impl::Floor, base)),
    ];
    compared(runtime, sides, label, rounds, units, unit, warmup, work)
}

/// Two sides of an in-process workload (the first measured against the
/// second), `rounds` times each, alternating which goes first; checks that
/// both read the same.
#[allow(clippy::too_many_arguments)]
fn compared(
    runtime: &tokio::runtime::Runtime,
    sides: [(&str, Client); 2],
    label: &str,
    rounds: usize,
    units: usize,
    unit: &str,
    warmup: &dyn Fn(Client) -> BoxFuture,
    work: &dyn Fn(Client) -> BoxFuture,
) -> Result<Paired, BoxError> {
    let names = [sides[0].0, sides[1].0];
    let sides = [sides[0].1.clone(), sides[1].1.clone()];
    for side in &sides {
        runtime.block_on(warmup(side.clone()))?;
    }
    let mut per_unit: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ratios: Vec<f64> = Vec::new();
    let mut checks: [Option<Streamed>; 2] = [None, None];
    let mut problems = Vec::new();
    for round in 0..rounds {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let run: Run = measured(runtime, units, work(sides[index].clone()))?;
            per_unit[index].push(run.cpu_us_per_unit());
            log(&format!(
                "{label} round {}/{rounds}: {} {:.2} us CPU/{unit}, {:.2} s wall",
                round + 1,
                names[index],
                run.cpu_us_per_unit(),
                run.wall.as_secs_f64()
            ));
            if per_unit[0].len() == per_unit[1].len() {
                // Both sides of this round done, back to back: their ratio
                // is the least disturbed by slow changes of the machine.
                ratios.push(per_unit[0][round] / per_unit[1][round]);
            }
            match checks[index] {
                None => checks[index] = Some(run.check),
                Some(check) if check != run.check => problems.push(format!(
                    "{label}: {} read {:?}, then {:?}",
                    names[index], check, run.check
                )),
                Some(_) => {}
            }
        }
    }
    if checks[0] != checks[1] {
        problems.push(format!(
            "{label}: {} read {:?} but {} {:?}",
            names[0], checks[0], names[1], checks[1]
        ));
    }
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(0.0, f64::max);
    Ok(Paired {
        llmax: median(&mut per_unit[0]),
        floor: median(&mut per_unit[1]),
        ratio: median(&mut ratios),
        low,
        high,
        problems,
    })
}

/// Both sides of an in-process workload, over all rounds.
struct Paired {
    /// Median CPU per unit, llmax.
    llmax: f64,
    /// Median CPU per unit, floor.
    floor: f64,
    /// Median of the rounds' ratios llmax / floor.
    ratio: f64,
    /// Smallest round ratio.
    low: f64,
    /// Largest round ratio.
    high: f64,
    /// Mismatches between what the two sides read.
    problems: Vec<String>,
}

type BoxFuture = std::pin::Pin<Box<dyn Future<Output = Result<Streamed, BoxError>>>>;

fn suite(config: &Config, exe: &Path) -> Result<bool, BoxError> {
    let started = Instant::now();
    let machine = measure::machine();
    log(&format!("machine: {machine}"));
    let pinned = config.pin && measure::cpu_count() >= 2;
    let server = ServerProcess::spawn(exe, pinned.then_some(1))?;
    let base = server.url();
    log(&format!("fake provider (process of its own) at {base}"));
    if pinned {
        // Before any thread starts: they and the children inherit it.
        measure::pin(&[0]);
        log("client on CPU 0, fake provider on CPU 1 (for 1-3 and 6)");
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let wants = |n: u32| config.only.contains(&n);
    let runtime_kind = if config.multi_thread {
        "multi-thread"
    } else {
        "current-thread"
    };

    if wants(1) || wants(2) || wants(3) {
        let runtime = runtime(config.multi_thread)?;
        warm_up(&runtime, &base, config)?;
        for proto in Proto::ALL {
            if wants(1) {
                let n = config.sequential_calls;
                let label = format!("1. {n} sequential calls, {}", proto.name());
                let warm = move |client: Client| -> BoxFuture {
                    Box::pin(async move { calls(&client, proto, 50, 1).await })
                };
                let work = move |client: Client| -> BoxFuture {
                    Box::pin(async move { calls(&client, proto, n, 1).await })
                };
                let mut result = paired(
                    &runtime,
                    &base,
                    &label,
                    config.rounds,
                    n,
                    "call",
                    &warm,
                    &work,
                )?;
                problems.append(&mut result.problems);
                rows.push(ratio_row(&label, &result, "µs CPU/call", 1.1));
            }
            if wants(2) {
                let (n, in_flight) = (config.concurrent_calls, config.concurrent_in_flight);
                let label = format!("2. {n} calls, {in_flight} in flight, {}", proto.name());
                let warm = move |client: Client| -> BoxFuture {
                    Box::pin(async move { calls(&client, proto, in_flight * 2, in_flight).await })
                };
                let work = move |client: Client| -> BoxFuture {
                    Box::pin(async move { calls(&client, proto, n, in_flight).await })
                };
                let mut result = paired(
                    &runtime,
                    &base,
                    &label,
                    config.rounds,
                    n,
                    "call",
                    &warm,
                    &work,
                )?;
                problems.append(&mut result.problems);
                rows.push(ratio_row(&label, &result, "µs CPU/call", 1.1));
            }
            if wants(3) {
                for &(n, in_flight) in &config.streamed_shapes {
                    let chunks = config.stream_chunks;
                    let label = format!(
                        "3. {n} streams × {chunks} chunks, {in_flight} in flight, {}",
                        proto.name()
                    );
                    let warm = move |client: Client| -> BoxFuture {
                        Box::pin(async move {
                            streams(&client, proto, in_flight, in_flight, chunks).await
                        })
                    };
                    let work = move |client: Client| -> BoxFuture {
                        Box::pin(async move { streams(&client, proto, n, in_flight, chunks).await })
                    };
                    let mut result = paired(
                        &runtime,
                        &base,
                        &label,
                        config.rounds,
                        n * chunks,
                        "chunk",
                        &warm,
                        &work,
                    )?;
                    problems.append(&mut result.problems);
                    rows.push(ratio_row(&label, &result, "µs CPU/chunk", 1.2));
                }
            }
        }
    }

    if wants(8) {
        // Routing costs nothing on the happy path: three deployments per
        // model (none failing) against one, both llmax.
        let runtime = runtime(config.multi_thread)?;
        let n = config.sequential_calls;
        for (strategy, name) in [
            (Strategy::InOrder, "in order"),
            (Strategy::RoundRobin, "round-robin"),
        ] {
            let label = format!("8. {n} sequential calls, 3 deployments ({name}) vs 1, openai");
            let warm = move |client: Client| -> BoxFuture {
                Box::pin(async move { calls(&client, Proto::OpenAi, 50, 1).await })
            };
            let work = move |client: Client| -> BoxFuture {
                Box::pin(async move { calls(&client, Proto::OpenAi, n, 1).await })
            };
            let sides = [
                ("3 deployments", Client::routed(&base, strategy)),
                ("1 deployment", Client::new(Impl::Llmax, &base)),
            ];
            let mut result = compared(
                &runtime,
                sides,
                &label,
                config.rounds,
                n,
                "call",
                &warm,
                &work,
            )?;
            problems.append(&mut result.problems);
            rows.push(ratio_row(&label, &result, "µs CPU/call", 1.05));
        }
    }

    if wants(10) {
        // The ledger's cost per call: workload 1 (OpenAI) with a SQLite
        // ledger as the client's hooks against the same client without.
        // CPU time counts every thread of the process: the ledger's writer
        // task and sqlx's SQLite worker threads included.
        let runtime = runtime(config.multi_thread)?;
        let dir = std::env::temp_dir().join(format!("llmax-bench-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("usage.db").display().to_string();
        let ledger = runtime.block_on(llmax_ledger::Ledger::open(&path))?;
        let sides = [
            ("llmax + ledger", Client::with_hooks(&base, ledger.clone())),
            ("llmax", Client::new(Impl::Llmax, &base)),
        ];
        let n = config.sequential_calls;
        let label = format!("10. {n} sequential calls, openai: llmax + SQLite ledger vs llmax");
        let warm = move |client: Client| -> BoxFuture {
            Box::pin(async move { calls(&client, Proto::OpenAi, 50, 1).await })
        };
        let work = move |client: Client| -> BoxFuture {
            Box::pin(async move { calls(&client, Proto::OpenAi, n, 1).await })
        };
        let mut result = compared(
            &runtime,
            sides,
            &label,
            config.rounds,
            n,
            "call",
            &warm,
            &work,
        )?;
        let stats = runtime.block_on(ledger.close());
        if stats.dropped > 0 {
            result.problems.push(format!(
                "{label}: the ledger dropped {} records",
                stats.dropped
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
        problems.append(&mut result.problems);
        rows.push(ratio_row(&label, &result, "µs CPU/call", 1.05));
    }

    if wants(7) {
        let runtime = runtime(config.multi_thread)?;
        let (n, k) = (config.embedding_calls, config.embedding_inputs);
        let inputs = embedding_inputs(k);
        for encoding in [Encoding::Float, Encoding::Base64] {
            let label = format!(
                "7. {n} sequential embeddings calls, {k} inputs × 1536 numbers, {}",
                encoding.name()
            );
            let warm_inputs = inputs.clone();
            let warm = move |client: Client| -> BoxFuture {
                let inputs = warm_inputs.clone();
                Box::pin(async move { embed_calls(&client, 20, &inputs, encoding).await })
            };
            let work_inputs = inputs.clone();
            let work = move |client: Client| -> BoxFuture {
                let inputs = work_inputs.clone();
                Box::pin(async move { embed_calls(&client, n, &inputs, encoding).await })
            };
            let mut result = paired(
                &runtime,
                &base,
                &label,
                config.rounds,
                n,
                "call",
                &warm,
                &work,
            )?;
            problems.append(&mut result.problems);
            rows.push(ratio_row(&label, &result, "µs CPU/call", 1.1));
        }
    }

    if wants(9) {
        let runtime = runtime(config.multi_thread)?;
        let client = crate::workloads::llmax_client(&base);
        let messages: Arc<[llmax::Message]> = crate::workloads::llmax_messages().into();
        // The shapes of workload 3, and the first with answers 8 times as
        // long: the cost per chunk must stay flat as answers grow.
        let mut shapes: Vec<(usize, usize, usize)> = config
            .streamed_shapes
            .iter()
            .map(|&(n, in_flight)| (n, in_flight, config.stream_chunks))
            .collect();
        if let Some(&(n, in_flight)) = config.streamed_shapes.first() {
            shapes.push(((n / 8).max(1), in_flight, config.stream_chunks * 8));
        }
        for (n, in_flight, chunks) in shapes {
            let label = format!(
                "9. typed / plain streaming: {n} JSON streams × {chunks} chunks, {in_flight} in flight, OpenAI"
            );
            let run = |typed: bool, total: usize| {
                let (client, messages) = (client.clone(), messages.clone());
                measured(
                    &runtime,
                    total * chunks,
                    json_streams(&client, messages, typed, total, in_flight, chunks),
                )
            };
            run(true, in_flight)?;
            run(false, in_flight)?;
            let mut per_chunk: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut ratios = Vec::new();
            let mut checks = Vec::new();
            for round in 0..config.rounds {
                let order = if round % 2 == 0 {
                    [true, false]
                } else {
                    [false, true]
                };
                let mut this_round = [0.0; 2];
                for typed in order {
                    let result = run(typed, n)?;
                    let side = usize::from(!typed);
                    this_round[side] = result.cpu_us_per_unit();
                    per_chunk[side].push(result.cpu_us_per_unit());
                    checks.push(result.check);
                    log(&format!(
                        "{label} round {}/{}: {} {:.2} us CPU/chunk",
                        round + 1,
                        config.rounds,
                        if typed { "typed" } else { "plain" },
                        result.cpu_us_per_unit()
                    ));
                }
                ratios.push(this_round[0] / this_round[1]);
            }
            if checks.windows(2).any(|pair| pair[0] != pair[1]) {
                problems.push(format!(
                    "{label}: typed and plain read differently: {checks:?}"
                ));
            }
            let result = Paired {
                llmax: median(&mut per_chunk[0]),
                floor: median(&mut per_chunk[1]),
                low: ratios.iter().copied().fold(f64::INFINITY, f64::min),
                high: ratios.iter().copied().fold(0.0, f64::max),
                ratio: median(&mut ratios),
                problems: Vec::new(),
            };
            rows.push(Row {
                workload: label,
                llmax: format!("typed {:.2} µs CPU/chunk", result.llmax),
                floor: format!("plain {:.2} µs CPU/chunk", result.floor),
                ..ratio_row("", &result, "", 1.3)
            });
        }
    }

    if wants(6) {
        let n = config.blocking_calls;
        let mut reports = Vec::new();
        for side in [Impl::Llmax, Impl::Floor] {
            let report: BlockingReport =
                run_child(exe, &["blocking", side.name(), &base, &n.to_string()])?;
            log(&format!("6. {}: {report:?}", side.name()));
            reports.push(report);
        }
        let (llmax, floor) = (&reports[0], &reports[1]);
        let steady = |r: &BlockingReport| {
            r.threads_after == r.threads_after_first
                && r.threads_max == r.threads_after_first
                && r.pids_allocated
                    .is_none_or(|pids| (pids as usize) < r.calls / 2)
        };
        let threads = |r: &BlockingReport| {
            format!(
                "{} → {} → {} threads; {} pids/{} calls",
                r.threads_before,
                r.threads_after_first,
                r.threads_after,
                r.pids_allocated
                    .map_or("?".to_owned(), |pids| pids.to_string()),
                r.calls
            )
        };
        rows.push(Row {
            workload: format!("6. {n} blocking `invoke`s: threads before → after 1 → after {n}"),
            llmax: threads(llmax),
            floor: threads(floor),
            ratio: None,
            spread: None,
            target: "none started per call".to_owned(),
            met: Some(steady(llmax)),
        });
        rows.push(Row {
            workload: format!("6. {n} blocking `invoke`s, openai"),
            llmax: format!("{:.1} µs CPU/call", llmax.cpu_us_per_call),
            floor: format!("{:.1} µs CPU/call", floor.cpu_us_per_call),
            ratio: Some(llmax.cpu_us_per_call / floor.cpu_us_per_call),
            spread: None,
            target: "(information)".to_owned(),
            met: None,
        });
    }

    // Thousands of streams, then builds: every CPU.
    measure::pin(&[]);

    if wants(4) {
        let (n, chunks, delay) = (
            config.memory_streams,
            config.memory_chunks,
            config.memory_delay_ms,
        );
        let mut reports = Vec::new();
        for side in [Impl::Llmax, Impl::Floor] {
            let report: MemoryReport = run_child(
                exe,
                &[
                    "memory",
                    side.name(),
                    &base,
                    &n.to_string(),
                    &chunks.to_string(),
                    &delay.to_string(),
                ],
            )?;
            log(&format!("4. {}: {report:?}", side.name()));
            if report.max_open != n {
                problems.push(format!(
                    "4. {}: {} streams open at most, not {n}",
                    side.name(),
                    report.max_open
                ));
            }
            reports.push(report);
        }
        if reports[0].content_chunks != reports[1].content_chunks {
            problems.push(format!(
                "4. llmax read {} chunks, the floor {}",
                reports[0].content_chunks, reports[1].content_chunks
            ));
        }
        let show = |r: &MemoryReport| {
            format!(
                "{:.1} MiB peak ({:.1} KiB/stream)",
                r.peak_kib as f64 / 1024.0,
                r.peak_kib.saturating_sub(r.base_kib) as f64 / r.streams as f64
            )
        };
        let (llmax, floor) = (&reports[0], &reports[1]);
        rows.push(Row {
            workload: format!("4. {n} open streams × {chunks} chunks {delay} ms apart, peak RSS"),
            llmax: show(llmax),
            floor: show(floor),
            ratio: Some(llmax.peak_kib as f64 / floor.peak_kib as f64),
            spread: None,
            target: "≤ 100 MiB".to_owned(),
            met: Some(llmax.peak_kib as f64 / 1024.0 <= 100.0),
        });
    }
    drop(server);

    if wants(5) && config.compile_models > 0 {
        let mut report: CompileReport = compile(
            config.compile_models,
            config.compile_reps.max(1),
            &mut |m| log(m),
        )?;
        log(&format!("5. {report:?}"));
        for (kind, default, generated) in [
            ("cold", &mut report.default_cold, &mut report.generated_cold),
            (
                "incremental",
                &mut report.default_incremental,
                &mut report.generated_incremental,
            ),
        ] {
            let (default, generated) = (median(default), median(generated));
            let added = generated - default;
            rows.push(Row {
                workload: format!(
                    "5. `cargo build` of a crate calling `manifest!`, {kind}: {} vs {} models",
                    report.generated_models, report.default_models
                ),
                llmax: format!("{generated:.2} s"),
                floor: format!("{default:.2} s"),
                ratio: Some(generated / default),
                spread: None,
                target: format!("< 1 s added: {added:+.2} s"),
                met: Some(added < 1.0),
            });
        }
    }

    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    writeln!(
        out,
        "llmax-bench on {machine}; 1-3: client on a tokio {runtime_kind} runtime, {}, \
         medians of {} rounds (the ratio: of the rounds' ratios); whole run {:.0} s",
        if pinned {
            "pinned to CPU 0, fake provider on CPU 1"
        } else {
            "unpinned"
        },
        config.rounds,
        elapsed.as_secs_f64()
    )?;
    writeln!(out)?;
    write!(out, "{}", table(&rows))?;
    for problem in &problems {
        writeln!(out, "PROBLEM: {problem}")?;
    }
    Ok(problems.is_empty())
}

/// A second of both sides' work before any measure: the first work of a
/// process (and of the fake provider) is slower, whoever does it.
fn warm_up(runtime: &tokio::runtime::Runtime, base: &str, config: &Config) -> Result<(), BoxError> {
    let started = Instant::now();
    let sides = [
        Client::new(Impl::Llmax, base),
        Client::new(Impl::Floor, base),
    ];
    let calls_each = config.sequential_calls.min(500);
    let streams_each = config
        .streamed_shapes
        .iter()
        .map(|&(_, in_flight)| in_flight)
        .max()
        .unwrap_or(1);
    loop {
        for client in &sides {
            for proto in Proto::ALL {
                runtime.block_on(calls(client, proto, calls_each, 1))?;
                runtime.block_on(streams(
                    client,
                    proto,
                    streams_each,
                    streams_each,
                    config.stream_chunks,
                ))?;
            }
        }
        if started.elapsed().as_secs_f64() > 1.0 || calls_each < 500 {
            return Ok(());
        }
    }
}

fn ratio_row(label: &str, result: &Paired, unit: &str, target: f64) -> Row {
    Row {
        workload: label.to_owned(),
        llmax: format!("{:.2} {unit}", result.llmax),
        floor: format!("{:.2} {unit}", result.floor),
        ratio: Some(result.ratio),
        spread: Some((result.low, result.high)),
        target: format!("≤ {target}×"),
        met: Some(result.ratio <= target),
    }
}

/// The rows as a Markdown table.
fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | llmax | floor | llmax / floor (rounds' range) | target | met |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.workload,
            row.llmax,
            row.floor,
            match (row.ratio, row.spread) {
                (Some(ratio), Some((low, high))) => format!("{ratio:.2} ({low:.2}–{high:.2})"),
                (Some(ratio), None) => format!("{ratio:.2}"),
                (None, _) => String::new(),
            },
            row.target,
            match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        ));
    }
    out
}

/// Runs `exe child ARGS...` and parses the JSON line it prints.
fn run_child<T: serde::de::DeserializeOwned>(exe: &Path, args: &[&str]) -> Result<T, BoxError> {
    let output = std::process::Command::new(exe)
        .arg("child")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("the child `{}` failed: {}", args.join(" "), output.status).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    Ok(serde_json::from_str(line)
        .map_err(|error| format!("the child `{}` said {line:?}: {error}", args.join(" ")))?)
}

/// The child processes' side: `memory IMPL URL STREAMS CHUNKS DELAY_MS` and
/// `blocking IMPL URL CALLS`. Prints one JSON line.
fn child(args: &[&str]) -> Result<bool, BoxError> {
    let which = |at: usize| {
        args.get(at)
            .and_then(|name| Impl::parse(name))
            .ok_or_else(|| BoxError::from("expected llmax or floor"))
    };
    let number = |at: usize| -> Result<u64, BoxError> {
        Ok(args.get(at).ok_or("missing argument")?.parse()?)
    };
    let url = args.get(2).copied().ok_or("missing URL")?;
    let line = match args.first().copied() {
        Some("memory") => serde_json::to_string(&memory(
            which(1)?,
            url,
            number(3)? as usize,
            number(4)? as usize,
            number(5)?,
        )?)?,
        Some("blocking") => serde_json::to_string(&blocking(which(1)?, url, number(3)? as usize)?)?,
        _ => return Err("unknown child".into()),
    };
    println!("{line}");
    Ok(true)
}

/// One side of workload 1, 2 or 3, alone, for a profiler.
fn profile(args: &[&str], exe: &Path) -> Result<bool, BoxError> {
    let workload: u32 = args.first().ok_or(USAGE)?.parse()?;
    let which = args
        .get(1)
        .and_then(|name| Impl::parse(name))
        .ok_or(USAGE)?;
    let proto = args
        .get(2)
        .and_then(|name| Proto::parse(name))
        .ok_or(USAGE)?;
    let config = Config::full();
    let count: Option<usize> = args
        .get(3)
        .filter(|arg| !arg.starts_with("--"))
        .map(|n| n.parse())
        .transpose()?;
    let in_flight: Option<usize> = args
        .iter()
        .position(|arg| *arg == "--in-flight")
        .map(|at| -> Result<usize, BoxError> {
            Ok(args
                .get(at + 1)
                .ok_or("--in-flight needs a number")?
                .parse()?)
        })
        .transpose()?;
    let (server, base) = match std::env::var("LLMAX_BENCH_SERVER") {
        Ok(addr) => (None, format!("http://{addr}")),
        Err(_) => {
            let server = ServerProcess::spawn(exe, Some(1))?;
            let base = server.url();
            (Some(server), base)
        }
    };
    if !args.contains(&"--no-pin") {
        measure::pin(&[0]);
    }
    let runtime = runtime(args.contains(&"--multi-thread"))?;
    let client = Client::new(which, &base);
    let run = |n: usize| -> Result<Run, BoxError> {
        let client = client.clone();
        match workload {
            1 => measured(
                &runtime,
                n,
                async move { calls(&client, proto, n, 1).await },
            ),
            2 => measured(&runtime, n, async move {
                let in_flight = in_flight.unwrap_or(config.concurrent_in_flight);
                calls(&client, proto, n, in_flight).await
            }),
            3 => {
                let chunks = config.stream_chunks;
                let in_flight = in_flight.unwrap_or(config.streamed_shapes[0].1);
                measured(&runtime, n * chunks, async move {
                    streams(&client, proto, n, in_flight, chunks).await
                })
            }
            _ => Err(USAGE.into()),
        }
    };
    run(10)?;
    let n = count.unwrap_or(match workload {
        3 => config.streamed_shapes[0].0,
        _ => config.sequential_calls,
    });
    let done = run(n)?;
    eprintln!(
        "profile {workload} {} {}: {:.2} us CPU/unit, {:?}",
        which.name(),
        proto.name(),
        done.cpu_us_per_unit(),
        done.check
    );
    drop(server);
    Ok(true)
}

/// This binary's path.
pub fn current_exe() -> PathBuf {
    std::env::current_exe().expect("the path of this binary")
}
