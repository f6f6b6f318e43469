use clap::Parser;

fn main() {
    let cli = helmdeck::cli::Cli::parse();
    std::process::exit(helmdeck::cli::run_with_deep_stack(cli));
}
