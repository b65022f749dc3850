//! # sc-ffi-tests: the C interface, exercised from C
//!
//! Helpers for the tests in `tests/` and the benchmark in `benches/`: find the libraries
//! cargo built, compile the C examples in `examples/c` with the system C compiler through
//! their Makefile, and set up a simulated root key and a verifier policy for the compiled
//! enclave program.
//!
//! ```no_run
//! let dir = tempfile::tempdir()?;
//! let built = sc_ffi_tests::build_examples(dir.path(), "")?;
//! assert!(built.join("client").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)] // the library; the ABI misuse tests allow it in their file

use sc_attestation::sim::SimRoot;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The directory cargo put this build's libraries in (`target/<profile>/deps`: the
/// FFI crates are dependencies of this one, so their `.so` and `.a` files are built there).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") { dir } else { dir.join("deps") }
}

/// The names the shared libraries carry as their SONAME (`build.rs` of each FFI crate).
pub const SONAMES: [(&str, &str); 2] = [
    ("libcsecure_channel.so", "libcsecure_channel.so.0"),
    ("libusecure_channel.so", "libusecure_channel.so.0"),
];

/// Makes this build's shared libraries loadable by their SONAME: a program linked with
/// `-lcsecure_channel` asks the loader for `libcsecure_channel.so.0`, which cargo does not
/// create (an install does, `scripts/install-c.sh`). Idempotent and safe when test
/// processes race to create the same link.
pub fn soname_links(dir: &Path) -> std::io::Result<()> {
    for (file, soname) in SONAMES {
        match std::os::unix::fs::symlink(file, dir.join(soname)) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// `libtsecure_channel.a` of this build (cargo names a dependency's static library with
/// a hash; the newest is this build's).
pub fn enclave_staticlib() -> std::io::Result<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(lib_dir())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("libtsecure_channel") && name.ends_with(".a")
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "libtsecure_channel.a not built"))
}

fn run(cmd: &mut Command) -> std::io::Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// Builds the C examples into `out` with `make`, linking this build's libraries; the
/// enclave program gets `enclave_cflags` too (e.g. sanitizers). Returns `out`.
pub fn build_examples(out: &Path, enclave_cflags: &str) -> std::io::Result<PathBuf> {
    let include = repo_root().join("include");
    let libs = lib_dir();
    soname_links(&libs)?;
    let (inc, lib) = (include.display(), libs.display());
    let shared = |name: &str| format!("-I{inc} -L{lib} -Wl,-rpath,{lib} -l{name} -lpthread");
    let enclave = format!(
        "-I{inc} {enclave_cflags} {} -lpthread -ldl -lm",
        enclave_staticlib()?.display()
    );
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(repo_root().join("examples/c"))
        .arg(format!("OUT={}", out.display()))
        // The links are made above, in the directory the flags name; the Makefile's own
        // rule would look for cargo's uplifted copies, which `cargo test` may not create.
        .arg("SONAME_LINKS=")
        .arg(format!("CLIENT_FLAGS={}", shared("csecure_channel")))
        .arg(format!("HOST_FLAGS={}", shared("usecure_channel")))
        .arg(format!("ENCLAVE_FLAGS={enclave}")))?;
    Ok(out.to_path_buf())
}

/// Compiles one C test program from `crates/ffi/tests/c/` against the host library (with
/// warnings as errors) into `out`; returns the executable's path.
pub fn build_host_test_program(out: &Path, name: &str) -> std::io::Result<PathBuf> {
    build_test_program(out, name, "usecure_channel")
}

/// Compiles one C test program from `crates/ffi/tests/c/` against `library` (for example
/// `csecure_channel`), with warnings as errors, into `out`; returns the executable's path.
pub fn build_test_program(out: &Path, name: &str, library: &str) -> std::io::Result<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("c")
        .join(format!("{name}.c"));
    let exe = out.join(name);
    let (include, libs) = (repo_root().join("include"), lib_dir());
    soname_links(&libs)?;
    run(Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-O1",
            "-g",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-std=c11",
            "-D_DEFAULT_SOURCE",
        ])
        .arg(format!("-I{}", include.display()))
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .arg(format!("-L{}", libs.display()))
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .arg(format!("-l{library}"))
        .arg("-lpthread"))?;
    Ok(exe)
}

/// A simulated root key in `dir` and a policy there that accepts `enclave_program`.
/// Returns (root key path, policy path).
pub fn sim_setup(dir: &Path, enclave_program: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let root = SimRoot::from_secret([0x5c; 32]);
    let root_path = dir.join("root.key");
    if !root_path.exists() {
        root.write(&root_path).map_err(std::io::Error::other)?;
    }
    let policy_path = dir.join("policy.toml");
    let measurement = sc_attestation::measure_file(enclave_program)?;
    std::fs::write(&policy_path, policy_text(&root.public_key(), measurement))?;
    Ok((root_path, policy_path))
}

/// A policy accepting simulated evidence for `measurement` under `root_public_key`.
pub fn policy_text(root_public_key: &[u8; 32], measurement: [u8; 32]) -> String {
    sc_test_support::sim::policy_text(root_public_key, &[measurement])
}

/// A running C host server (`examples/c/server.c`).
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    stdout: BufReader<ChildStdout>,
    /// Its loopback port.
    pub port: u16,
}

impl Server {
    /// Starts `command` (a server invocation with port 0) and reads the port it prints.
    pub fn start(mut command: Command) -> std::io::Result<Self> {
        let mut child = command.stdout(Stdio::piped()).spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("server did not start: {line:?}")))?;
        Ok(Self {
            child: Some(child),
            stdout,
            port,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for the server to exit (it does after its connection limit); returns its
    /// exit status and the rest of its output.
    pub fn wait(mut self) -> std::io::Result<(std::process::ExitStatus, String)> {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest)?;
        let status = self.child.take().expect("running").wait()?;
        Ok((status, rest))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
