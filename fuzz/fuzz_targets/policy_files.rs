//! Policy files and the original's basevalue files, as arbitrary text. Nothing may panic;
//! errors name a line within the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sc_attestation::{Policy, PolicyError, VerifierRegistry, parse_basevalues};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count().max(1);
    match Policy::from_toml(text, None) {
        Ok(policy) => {
            let _ = VerifierRegistry::from_policy(&policy);
        }
        Err(PolicyError::Invalid { line, .. }) => assert!(line <= lines + 1, "line {line} of {lines}"),
        Err(_) => {}
    }
    let _ = parse_basevalues(text);
});
