//! Benchmark helpers reachable from the CLI (`trailmap bench ...`). The
//! figures they produce go to BENCHMARKS.md; nothing here runs in tests
//! except its own unit tests.

pub mod loadgen;
pub mod parse;
pub mod patterns;
