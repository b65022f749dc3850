//! The original system's reference-value file: one trusted application per line,
//!
//! ```text
//! <taid> <img_hash> <mem_hash>
//! ```
//!
//! where `taid` is the trusted application's UUID and both hashes are 64 hex digits
//! (SHA-256). Blank lines and lines starting with `#` are ignored.

/// One trusted application's reference values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseValue {
    /// Trusted application id (UUID text, lower-cased).
    pub taid: String,
    /// Hash of the application image: compared with the primary measurement.
    pub img_hash: [u8; 32],
    /// Hash of the loaded memory: compared with a `mem_hash` measurement when the platform
    /// reports one.
    pub mem_hash: [u8; 32],
}

/// A basevalue line is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("basevalue line {line}, field {field}: {message}")]
pub struct BaseValueError {
    /// 1-based line number.
    pub line: usize,
    /// `taid`, `img_hash`, `mem_hash` or `line`.
    pub field: &'static str,
    /// What is wrong.
    pub message: &'static str,
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn hash(line: usize, field: &'static str, s: &str) -> Result<[u8; 32], BaseValueError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| BaseValueError {
        line,
        field,
        message: "expected 64 hex digits",
    })?;
    Ok(out)
}

/// Parses a whole basevalue file.
pub fn parse_basevalues(text: &str) -> Result<Vec<BaseValue>, BaseValueError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split_whitespace().collect();
        let [taid, img, mem] = fields[..] else {
            return Err(BaseValueError {
                line,
                field: "line",
                message: "expected three fields: taid img_hash mem_hash",
            });
        };
        if !is_uuid(taid) {
            return Err(BaseValueError {
                line,
                field: "taid",
                message: "expected a UUID (8-4-4-4-12 hex digits)",
            });
        }
        out.push(BaseValue {
            taid: taid.to_ascii_lowercase(),
            img_hash: hash(line, "img_hash", img)?,
            mem_hash: hash(line, "mem_hash", mem)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn parses_and_names_the_bad_field() {
        let ok = format!("# trusted TAs\n\ne3d37f4a-f24c-48d0-8884-3bdd6c44e988 {H} {H}\n");
        let v = parse_basevalues(&ok).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].img_hash[1], 0x11);
        let e = parse_basevalues(&format!("x\nnot-a-uuid {H} {H}")).unwrap_err();
        assert_eq!((e.line, e.field), (1, "line"));
        let e = parse_basevalues(&format!("\nnot-a-uuid {H} {H}")).unwrap_err();
        assert_eq!((e.line, e.field), (2, "taid"));
        let e = parse_basevalues(&format!("e3d37f4a-f24c-48d0-8884-3bdd6c44e988 {H} abc")).unwrap_err();
        assert_eq!((e.line, e.field), (1, "mem_hash"));
        let e = parse_basevalues(&format!("e3d37f4a-f24c-48d0-8884-3bdd6c44e988 zz {H}")).unwrap_err();
        assert_eq!(e.field, "img_hash");
    }
}
