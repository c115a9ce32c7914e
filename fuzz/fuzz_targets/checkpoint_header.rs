#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| unmask_fuzz::checkpoint_header(data));
