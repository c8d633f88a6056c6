//! Benchmark helpers reachable from the CLI (`trailmap bench ...`). The
//! figures they produce go to BENCHMARKS.md; nothing here runs in tests
//! except its own unit tests. A developer tool, not part of the product:
//! compiled only with the `dev` feature (`cargo build --release --features dev`).

pub mod loadgen;
pub mod parse;
pub mod patterns;
