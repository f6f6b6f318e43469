use clap::Parser;

/// The system allocator, or a bump region for one-shot commands (see `helmdeck::arena`).
#[global_allocator]
static ALLOCATOR: helmdeck::arena::Allocator = helmdeck::arena::Allocator;

fn main() {
    let cli = helmdeck::cli::Cli::parse();
    if cli.one_shot() {
        helmdeck::arena::for_one_shot();
    }
    std::process::exit(helmdeck::cli::run_with_deep_stack(cli));
}
