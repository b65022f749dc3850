//! Measuring an enclave program: SHA-256 over its executable file, the value a policy lists.

use ring::digest;
use std::io::Read;
use std::path::Path;

/// SHA-256 of the file at `path`, read in 64 KiB chunks. An error names the path.
pub fn measure_file(path: &Path) -> std::io::Result<[u8; 32]> {
    measure(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn measure(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}
