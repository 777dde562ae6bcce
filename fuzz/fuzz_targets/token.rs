//! Fuzz target `token`: see [`vane_fuzz::token`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vane_fuzz::token(data));
