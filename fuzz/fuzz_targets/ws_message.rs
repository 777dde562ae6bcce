//! Fuzz target `ws_message`: see [`vane_fuzz::ws_message`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vane_fuzz::ws_message(data));
