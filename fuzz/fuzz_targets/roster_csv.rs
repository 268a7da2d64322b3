#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hedui_fuzz::roster_csv(data));
