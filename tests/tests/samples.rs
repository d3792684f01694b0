//! The Rust sample of every operation compiles against the SDK as generated: the samples are
//! functions in `samples/generated.rs` (written by `cargo xtask gen`, from the same code that
//! puts them in the spec's `x-codeSamples`, the markdown pages and llms-full.txt).

#[path = "samples/generated.rs"]
#[rustfmt::skip]
#[allow(dead_code, clippy::all)]
mod generated;

#[test]
fn every_operation_has_a_compiled_rust_sample() {
    let doc = portico::openapi::document();
    let ids: Vec<&str> = portico::openapi::operations(&doc)
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str())
        .collect();
    assert_eq!(ids, generated::SAMPLES);
}
