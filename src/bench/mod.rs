//! Benchmark helpers reachable from the CLI (`trailmap bench ...`). The
//! figures they produce go to BENCHMARKS.md; nothing here runs in tests
//! except its own unit tests. A developer tool, not part of the product:
//! compiled only with the `dev` feature (`cargo build --release --features dev`).

pub(crate) mod loadgen;
pub(crate) mod parse;
pub(crate) mod patterns;
pub(crate) mod shop;
