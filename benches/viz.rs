//! Rendering pictures of runs (filled in with the Gantt chart).
fn main() {}
