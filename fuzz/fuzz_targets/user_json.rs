//! Fuzzes `user_json`: the properties are documented on `rolecall::scim::fuzz_properties::user_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolecall::scim::fuzz_properties::user_json(data));
