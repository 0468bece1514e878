//! Fuzzes `group_json`: the properties are documented on `rolecall::scim::fuzz_properties::group_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rolecall::scim::fuzz_properties::group_json(data));
