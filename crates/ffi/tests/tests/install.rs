//! The documented install command puts the libraries, headers and pkg-config files under
//! a prefix; the C examples then build against the installed copy with pkg-config (through
//! their Makefile) and run end to end.

use sc_ffi_tests::{Server, enclave_staticlib, lib_dir, repo_root, sim_setup};
use std::process::Command;

/// Installs this build's libraries, headers and pkg-config files under `dir/prefix` with
/// the documented command; returns the prefix.
fn install(dir: &std::path::Path) -> std::path::PathBuf {
    // Stage this build's libraries under their installed names (cargo hashes the .a).
    let staged = dir.join("staged");
    std::fs::create_dir(&staged).unwrap();
    for lib in ["libcsecure_channel.so", "libusecure_channel.so"] {
        std::fs::copy(lib_dir().join(lib), staged.join(lib)).unwrap();
    }
    std::fs::copy(enclave_staticlib().unwrap(), staged.join("libtsecure_channel.a")).unwrap();

    let prefix = dir.join("prefix");
    let out = Command::new(repo_root().join("scripts/install-c.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--from")
        .arg(&staged)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A private prefix is not searched by the loader: the script says how to reach it.
    let said = String::from_utf8_lossy(&out.stdout);
    let libdir = prefix.join("lib").display().to_string();
    assert!(
        said.contains(&format!("-Wl,-rpath,{libdir}")) && said.contains(&format!("LD_LIBRARY_PATH={libdir}")),
        "{said}"
    );
    let version = env!("CARGO_PKG_VERSION");
    for lib in ["libcsecure_channel", "libusecure_channel"] {
        // The real file carries the version; .so.0 (the SONAME) and .so link to it.
        let real = prefix.join(format!("lib/{lib}.so.{version}"));
        assert!(real.is_file() && !real.is_symlink(), "{lib}.so.{version}");
        for link in [format!("{lib}.so.0"), format!("{lib}.so")] {
            let path = prefix.join("lib").join(&link);
            assert!(path.is_symlink(), "{link} is not a link");
            assert_eq!(
                std::fs::canonicalize(&path).unwrap(),
                std::fs::canonicalize(&real).unwrap()
            );
        }
        let dynamic = Command::new("readelf").arg("-d").arg(&real).output().unwrap();
        let dynamic = String::from_utf8_lossy(&dynamic.stdout);
        assert!(
            dynamic.contains(&format!("Library soname: [{lib}.so.0]")),
            "{lib}: {dynamic}"
        );
    }
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

    prefix
}

/// Builds the C examples into `dir/build` against the copy installed under `prefix`, with
/// their Makefile and pkg-config; returns the build directory.
fn make_examples(dir: &std::path::Path, prefix: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("build");
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo_root().join("examples/c"))
        .arg(format!("OUT={}", bin.display()))
        .arg("PKG_CONFIG=pkg-config")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make against the installed copy: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[test]
fn installed_copy_builds_and_runs_the_c_examples_through_pkg_config() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = install(dir.path());
    let bin = make_examples(dir.path(), &prefix);

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
        ldd.contains(&format!(
            "libcsecure_channel.so.0 => {}",
            libs.join("libcsecure_channel.so.0").display()
        )),
        "{ldd}"
    );
    assert!(s.wait().unwrap().0.success());
}

/// The original-pattern client and host (crates/ffi/tests/c/original_*.c), built with the
/// system compiler against the *installed* headers and libraries through pkg-config, run
/// unchanged: a hook that reads one reply after every message, returning 0 or
/// `count + 24`.
#[test]
fn original_pattern_programs_build_against_the_installed_copy_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = install(dir.path());
    let pkgconfig = prefix.join("lib/pkgconfig");
    let flags = |package: &str| -> Vec<String> {
        let out = Command::new("pkg-config")
            .args(["--cflags", "--libs", package])
            .env("PKG_CONFIG_PATH", &pkgconfig)
            .output()
            .unwrap();
        assert!(out.status.success(), "pkg-config {package}");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
    let build = |name: &str, package: &str| {
        let exe = dir.path().join(name);
        let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-Wall", "-Wextra", "-Werror", "-std=c11", "-D_DEFAULT_SOURCE", "-o"])
            .arg(&exe)
            .arg(sources.join(format!("{name}.c")))
            .args(flags(package))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        exe
    };
    let server = build("original_server", "usecure_channel");
    let client = build("original_client", "csecure_channel");
    // The enclave program: the examples' one, built against the installed copy too.
    let bin = make_examples(dir.path(), &prefix);
    let libs = prefix.join("lib");
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let mut cmd = Command::new(&server);
    cmd.arg(bin.join("enclave"))
        .arg("2")
        .env("SECURE_CHANNEL_SIM_ROOT", &root)
        .env("LD_LIBRARY_PATH", &libs);
    let running = Server::start(cmd).unwrap();
    for mode in ["zero", "count_plus_header"] {
        let out = Command::new("timeout")
            .arg("30")
            .arg(&client)
            .arg(running.port.to_string())
            .arg(&policy)
            .arg("1,2,3")
            .arg(mode)
            .env("LD_LIBRARY_PATH", &libs)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("result: count=3 mean=2.00 max=3.00") && text.contains("done"),
            "{mode}: {text}"
        );
    }
    assert!(running.wait().unwrap().0.success());
}
