//! `cargo xtask gen [--check]`: the generated artifacts.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::workspace_root;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// One generated file: where it goes and what it must contain.
struct Artifact {
    path: PathBuf,
    contents: String,
}

fn artifacts() -> Result<Vec<Artifact>, String> {
    let root = workspace_root();
    let doc = portico::openapi::document();
    let problems = portico::openapi::check(&doc);
    if !problems.is_empty() {
        return Err(format!("the OpenAPI document breaks the SDK rules:\n  {}", problems.join("\n  ")));
    }
    let (sdk, skipped) = crate::sdk::generate(&doc)?;
    for s in &skipped {
        println!(
            "sdk: {} is written by hand in sdk/src/ (progenitor cannot take a {})",
            s.operation_id, s.reason
        );
    }
    Ok(vec![
        Artifact { path: root.join("sdk/src/generated.rs"), contents: sdk },
        Artifact { path: root.join("spec/openapi.json"), contents: portico::openapi::render(&doc) },
        Artifact {
            path: root.join("spec/openapi.samples.json"),
            contents: portico::openapi::render(&portico::documents::samples::with_code_samples(&doc)),
        },
        Artifact { path: root.join("tests/tests/samples/generated.rs"), contents: rust_samples(&doc) },
        Artifact { path: root.join("spec/llms.txt"), contents: portico::documents::llms_txt(&doc) },
        Artifact { path: root.join("spec/llms-full.txt"), contents: portico::documents::llms_full_txt(&doc) },
        Artifact {
            path: root.join("docs/permissions.md"),
            contents: portico::documents::permissions_md(&doc),
        },
        Artifact {
            path: root.join("spec/postman_collection.json"),
            contents: portico::documents::postman_collection(&doc),
        },
    ])
}

/// Every operation's Rust sample as a function, so that `cargo test` (and clippy) proves each
/// compiles against the SDK as generated; the test in the file checks that none is missing.
fn rust_samples(doc: &serde_json::Value) -> String {
    let mut out = String::from(
        "// Written by `cargo xtask gen`: the Rust sample of every operation (as in the spec's\n\
         // `x-codeSamples`, the markdown pages and llms-full.txt), each compiled as a function.\n\n",
    );
    let mut ids = Vec::new();
    for (method, path, op) in portico::openapi::operations(doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        let samples = portico::documents::samples::samples(doc, method, path, op);
        let rust = samples.iter().find(|s| s.lang == "Rust").expect("every operation has a Rust sample");
        let body: String = rust
            .source
            .lines()
            .map(|l| if l.is_empty() { "\n".to_owned() } else { format!("    {l}\n") })
            .collect();
        out.push_str(&format!(
            "pub async fn {id}() -> Result<(), Box<dyn std::error::Error>> {{\n{body}    Ok(())\n}}\n\n"
        ));
        ids.push(id);
    }
    out.push_str("pub const SAMPLES: &[&str] = &[\n");
    for id in &ids {
        out.push_str(&format!("    \"{id}\",\n"));
    }
    out.push_str("];\n");
    out
}

pub fn generate(mode: Mode) -> ExitCode {
    let artifacts = match artifacts() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = workspace_root();
    let mut stale = 0;
    for artifact in &artifacts {
        let shown = artifact.path.strip_prefix(&root).unwrap_or(&artifact.path).display().to_string();
        let current = std::fs::read_to_string(&artifact.path).ok();
        if current.as_deref() == Some(artifact.contents.as_str()) {
            println!("up to date  {shown}");
            continue;
        }
        match mode {
            Mode::Write => {
                if let Some(dir) = artifact.path.parent()
                    && let Err(e) = std::fs::create_dir_all(dir)
                {
                    eprintln!("error: cannot create {}: {e}", dir.display());
                    return ExitCode::FAILURE;
                }
                if let Err(e) = std::fs::write(&artifact.path, &artifact.contents) {
                    eprintln!("error: cannot write {shown}: {e}");
                    return ExitCode::FAILURE;
                }
                println!("wrote       {shown}");
            }
            Mode::Check => {
                stale += 1;
                match &current {
                    None => eprintln!("stale       {shown}: missing"),
                    Some(old) => {
                        eprintln!("stale       {shown}: differs from what the code generates:");
                        eprintln!("{}", short_diff(old, &artifact.contents, &shown));
                    }
                }
            }
        }
    }
    if stale > 0 {
        eprintln!("\n{stale} generated file(s) are stale: run `cargo xtask gen` and commit the result.");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// A unified diff, cut short so that a big change stays readable in CI logs.
fn short_diff(old: &str, new: &str, name: &str) -> String {
    const MAX_LINES: usize = 80;
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{name} (committed)"), &format!("{name} (generated)"))
        .to_string();
    let lines: Vec<&str> = diff.lines().collect();
    if lines.len() <= MAX_LINES {
        return diff;
    }
    format!("{}\n… {} more diff lines", lines[..MAX_LINES].join("\n"), lines.len() - MAX_LINES)
}
