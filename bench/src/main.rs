//! `cargo run --release -p llmax-bench -- all`: see the crate docs.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(llmax_bench::run(&args, &llmax_bench::cli::current_exe()));
}
