//! Fuzzes `path`: the properties are documented on `rolecall::scim::fuzz_properties::path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolecall::scim::fuzz_properties::path(data));
