//! Fuzz target `flag_eval`: see [`vane_fuzz::flag_eval`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vane_fuzz::flag_eval(data));
