//! `cargo bench -p llmax-bench`: the whole suite, as `llmax-bench all`.
//! Arguments after `--` are passed on (`cargo bench -p llmax-bench -- 1 3`).
//! This binary also serves as the fake provider and the child processes.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(llmax_bench::run(&args, &llmax_bench::cli::current_exe()));
}
