//! The checked-in C headers (`include/`) are generated from the FFI crates with cbindgen.
//! This test regenerates them and fails when they drift from the code; run it with
//! `SC_UPDATE_HEADERS=1` to rewrite them after changing the interface.

use cbindgen::{Builder, Config, Language, Style};
use std::path::{Path, PathBuf};

fn ffi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn include_dir() -> PathBuf {
    ffi_dir().join("../../include")
}

struct Header {
    file: &'static str,
    crate_dir: &'static str,
    guard: &'static str,
    about: &'static str,
    includes: &'static [&'static str],
    /// Items without an exported function that uses them (types in shared headers).
    items: &'static [&'static str],
}

/// The host crate's items that go to enclave.h (the original's header for them), not to
/// secure_channel_host.h.
const ENCLAVE_ITEMS: &[&str] = &[
    "cc_enclave",
    "cc_enclave_t",
    "enclave_type_t",
    "enclave_features_t",
    "SGX_ENCLAVE_TYPE",
    "GP_ENCLAVE_TYPE",
    "PENGLAI_ENCLAVE_TYPE",
    "AUTO_ENCLAVE_TYPE",
    "ENCLAVE_TYPE_MAX",
    "SECGEAR_DEBUG_FLAG",
    "cc_enclave_create",
    "cc_enclave_destroy",
];

const HEADERS: &[Header] = &[
    Header {
        file: "status.h",
        crate_dir: "common",
        guard: "SECURE_CHANNEL_STATUS_H",
        about: "Result codes (cc_enclave_result_t). Values up to 0x5e and from 0xffff0000 are the\n * original secure channel's; 0x00010001..0x000100ff are this project's own.",
        includes: &[],
        items: &["cc_enclave_result_t", "cc_sec_chl_strerror"],
    },
    Header {
        file: "secure_channel.h",
        crate_dir: "common",
        guard: "SECURE_CHANNEL_H",
        about: "Shared by client and server: the application's send hook and connection kit.",
        includes: &["status.h"],
        items: &[
            "cc_conn_opt_funcptr_t",
            "cc_connection_kit",
            "cc_conn_kit_t",
            "cc_sec_chl_last_error",
        ],
    },
    Header {
        file: "secure_channel_client.h",
        crate_dir: "client",
        guard: "SECURE_CHANNEL_CLIENT_H",
        about: "Client (data owner): libcsecure_channel.so.",
        includes: &["secure_channel.h"],
        items: &["cc_sec_chl_algo_t"],
    },
    Header {
        file: "enclave.h",
        crate_dir: "host",
        guard: "SECURE_CHANNEL_ENCLAVE_HANDLE_H",
        about: "Starting and stopping the enclave (the original's enclave.h, with its names and values):\n * libusecure_channel.so.",
        includes: &["status.h"],
        items: ENCLAVE_ITEMS,
    },
    Header {
        file: "secure_channel_host.h",
        crate_dir: "host",
        guard: "SECURE_CHANNEL_HOST_H",
        about: "Server host (REE, untrusted relay): libusecure_channel.so.",
        includes: &["enclave.h", "secure_channel.h"],
        items: &["cc_sec_chl_conn_ctx_t"],
    },
    Header {
        file: "secure_channel_enclave.h",
        crate_dir: "enclave",
        guard: "SECURE_CHANNEL_ENCLAVE_H",
        about: "Server enclave (TEE) runtime for C enclave programs: libtsecure_channel.a.",
        includes: &["status.h"],
        items: &[],
    },
];

fn generate(h: &Header) -> String {
    let mut config = Config {
        language: Language::C,
        include_guard: Some(h.guard.into()),
        header: Some(format!(
            "/*\n * {}\n *\n * Generated from crates/ffi/{} by cbindgen; do not edit. The test\n * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.\n */",
            h.about, h.crate_dir
        )),
        includes: h.includes.iter().map(|s| s.to_string()).collect(),
        sys_includes: vec!["stdbool.h".into(), "stddef.h".into(), "stdint.h".into()],
        no_includes: true,
        cpp_compat: true,
        usize_is_size_t: true,
        style: Style::Both,
        documentation: true,
        ..Config::default()
    };
    config.export.include = h.items.iter().map(|s| s.to_string()).collect();
    if h.file == "secure_channel.h" {
        config.export.exclude = vec!["cc_enclave_result_t".into(), "cc_sec_chl_strerror".into()];
    }
    // The host crate's items are split between enclave.h and secure_channel_host.h.
    if h.file == "secure_channel_host.h" {
        config.export.exclude = ENCLAVE_ITEMS.iter().map(|s| s.to_string()).collect();
    }
    if h.file == "enclave.h" {
        config.export.exclude = [
            "sec_chl_timer_t",
            "cc_sec_chl_svr_ctx",
            "cc_sec_chl_svr_ctx_t",
            "cc_sec_chl_conn_ctx",
            "cc_sec_chl_conn_ctx_t",
            "cc_sec_chl_svr_init",
            "cc_sec_chl_svr_fini",
            "cc_sec_chl_svr_callback",
            "cc_sec_chl_svr_enclave_call",
            "cc_conn_kit_t",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    if h.file == "secure_channel.h" {
        config.trailer = Some(
            "/*\n * Whether a connection kit is complete (neither `send` nor `conn` is NULL): the\n * original's inline helper. (cbindgen writes this after the include guard, so it has\n * a guard of its own.)\n */\n#ifndef SECURE_CHANNEL_IS_VALID_CONN_KIT\n#define SECURE_CHANNEL_IS_VALID_CONN_KIT\nstatic inline bool is_valid_conn_kit(const cc_conn_kit_t *conn_kit) {\n  return conn_kit != NULL && conn_kit->send != NULL && conn_kit->conn != NULL;\n}\n#endif".into(),
        );
    }
    if h.file == "status.h" {
        config.export.exclude = vec![
            "cc_conn_opt_funcptr_t".into(),
            "cc_connection_kit".into(),
            "cc_conn_kit_t".into(),
            "cc_sec_chl_last_error".into(),
        ];
    }
    let bindings = Builder::new()
        .with_crate(ffi_dir().join(h.crate_dir))
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed for {}: {e}", h.file));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn checked_in_headers_match_the_code() {
    let update = std::env::var_os("SC_UPDATE_HEADERS").is_some();
    let mut drifted = Vec::new();
    for h in HEADERS {
        let fresh = generate(h);
        let path = include_dir().join(h.file);
        if update {
            std::fs::write(&path, &fresh).unwrap();
            continue;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != fresh {
            drifted.push(h.file);
        }
    }
    assert!(
        drifted.is_empty(),
        "headers drifted from the code: {drifted:?}; regenerate with SC_UPDATE_HEADERS=1 cargo test -p sc-ffi-common --test headers"
    );
}
