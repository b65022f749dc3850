//! The documented install command puts the libraries, headers and pkg-config files under
//! a prefix; the C examples then build against the installed copy with pkg-config (through
//! their Makefile) and run end to end.

use sc_ffi_tests::{Server, enclave_staticlib, lib_dir, repo_root, sim_setup};
use std::process::Command;

#[test]
fn installed_copy_builds_and_runs_the_c_examples_through_pkg_config() {
    let dir = tempfile::tempdir().unwrap();
    // Stage this build's libraries under their installed names (cargo hashes the .a).
    let staged = dir.path().join("staged");
    std::fs::create_dir(&staged).unwrap();
    for lib in ["libcsecure_channel.so", "libusecure_channel.so"] {
        std::fs::copy(lib_dir().join(lib), staged.join(lib)).unwrap();
    }
    std::fs::copy(enclave_staticlib().unwrap(), staged.join("libtsecure_channel.a")).unwrap();

    let prefix = dir.path().join("prefix");
    let out = Command::new(repo_root().join("scripts/install-c.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--from")
        .arg(&staged)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in [
        "lib/libcsecure_channel.so",
        "lib/libusecure_channel.so",
        "lib/libtsecure_channel.a",
        "include/secure_channel/secure_channel.h",
        "include/secure_channel/secure_channel_client.h",
        "include/secure_channel/secure_channel_host.h",
        "include/secure_channel/secure_channel_enclave.h",
        "include/secure_channel/enclave.h",
        "include/secure_channel/status.h",
        "lib/pkgconfig/csecure_channel.pc",
        "lib/pkgconfig/usecure_channel.pc",
        "lib/pkgconfig/tsecure_channel.pc",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }

    let bin = dir.path().join("build");
    let pkgconfig = prefix.join("lib/pkgconfig");
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo_root().join("examples/c"))
        .arg(format!("OUT={}", bin.display()))
        .arg("PKG_CONFIG=pkg-config")
        .env("PKG_CONFIG_PATH", &pkgconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make against the installed copy: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let libs = prefix.join("lib");
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let mut server = Command::new(bin.join("server"));
    server
        .arg(bin.join("enclave"))
        .arg("0")
        .arg("1")
        .env("SECURE_CHANNEL_SIM_ROOT", &root)
        .env("LD_LIBRARY_PATH", &libs);
    let s = Server::start(server).unwrap();
    let out = Command::new(bin.join("client"))
        .arg(s.port.to_string())
        .arg(&policy)
        .arg("2,4,6")
        .env("LD_LIBRARY_PATH", &libs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("result: count=3 mean=4.00 max=6.00"),
        "{text}"
    );
    // The programs use the installed libraries, not the build tree's.
    let ldd = Command::new("ldd")
        .arg(bin.join("client"))
        .env("LD_LIBRARY_PATH", &libs)
        .output()
        .unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    assert!(
        ldd.contains(&libs.join("libcsecure_channel.so").display().to_string()),
        "{ldd}"
    );
    assert!(s.wait().unwrap().0.success());
}
