//! Fuzz target `track_body`: see [`vane_fuzz::track_body`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vane_fuzz::track_body(data));
