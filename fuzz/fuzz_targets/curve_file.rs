#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| unmask_fuzz::curve_file(data));
