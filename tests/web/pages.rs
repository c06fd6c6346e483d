//! (filled in by the pages work)
