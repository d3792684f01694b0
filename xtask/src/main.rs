//! `cargo xtask`: the project's own tasks.
//!
//! - `cargo xtask gen` writes the generated artifacts from the annotated handlers:
//!   `spec/openapi.json`, `spec/llms.txt`, `spec/llms-full.txt`, `spec/postman_collection.json`
//!   and the SDK's client (`sdk/src/generated.rs`, progenitor on a 3.0.3 copy of the spec);
//!   `cargo xtask gen --check` writes nothing, and exits non-zero showing what differs when an
//!   artifact is stale (CI runs it).
//! - `cargo xtask bench [--quick] [--postgres | --database-url URL]` measures what the platform
//!   costs per request: the release binary pinned to one core, wrk pinned to another, six
//!   scenarios alternated; writes `target/bench/results.json` (see `docs/performance.md`).

mod bench;
mod generate;
mod sdk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["gen"] => generate::generate(generate::Mode::Write),
        ["gen", "--check"] => generate::generate(generate::Mode::Check),
        ["bench", rest @ ..] => bench::run(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask gen [--check] | cargo xtask bench [--quick] [--postgres | --database-url URL]"
            );
            ExitCode::from(2)
        }
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}
