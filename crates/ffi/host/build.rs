//! Gives the shared library its SONAME, `libusecure_channel.so.0`, so that programs
//! linked against it record the ABI major version and `ldconfig` can manage the links.
//! Why 0: the C interface follows secGear's, whose ABI we keep; a break would bump it.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libusecure_channel.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
