//! Any bytes given to the LL2 parser: a page or an error, never a panic; and every page it
//! returns survives a JSON round trip of its launches.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = dags::ll2::parse_page(data) {
        for launch in &page.results {
            assert!(!launch.id.trim().is_empty(), "launches without an id are skipped");
            let json = serde_json::to_vec(launch).expect("a launch serializes");
            let back: dags::ll2::Launch = serde_json::from_slice(&json).expect("and reads back");
            assert_eq!(&back, launch);
        }
    }
});
