//! The rules the `#[task]`/`#[dag]` macros and the rocket-dag runtime share, written once: what
//! an id may contain ([`ids`]), the duration notation ([`duration`]), the schedule grammar and
//! presets ([`schedule`]), DAG dates ([`date`]), time zones ([`timezone`]), cycle detection
//! with its path ([`graph`]), the option names suggestions are made from ([`names`]), and
//! escaping for terminals ([`escape`]).
//!
//! The macros check a DAG with these functions at compile time; the runtime parses the same
//! strings with the same functions, so what compiles never fails at run time.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod date;
pub mod duration;
pub mod escape;
pub mod graph;
pub mod ids;
pub mod names;
pub mod schedule;
pub mod timezone;
