//! Pictures and the run report (filled in with the report).
