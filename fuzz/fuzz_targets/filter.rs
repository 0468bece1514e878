//! Fuzzes `filter`: the properties are documented on `rolecall::scim::fuzz_properties::filter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolecall::scim::fuzz_properties::filter(data));
