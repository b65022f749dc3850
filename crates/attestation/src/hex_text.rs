//! Hex as tools and clouds write it: upper or lower case, an optional `0x`/`0X` prefix, and
//! whitespace (line breaks of a wrapped dump) anywhere. Used for evidence files, policy
//! values, collateral and command-line arguments alike, so that one spelling works
//! everywhere.

/// The bytes of hex `text`, or `None` if it is not hex (odd length, other characters, or
/// empty).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let digits: String = body.split_whitespace().collect();
    if digits.is_empty() {
        return None;
    }
    hex::decode(digits).ok()
}

/// Exactly `N` bytes of hex `text`.
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::{decode, decode_array};

    #[test]
    fn accepts_the_spellings_in_use_and_nothing_else() {
        assert_eq!(decode("0a0B"), Some(vec![0x0a, 0x0b]));
        assert_eq!(decode("0x0a0b"), Some(vec![0x0a, 0x0b]));
        assert_eq!(decode("0X0A0B\n"), Some(vec![0x0a, 0x0b]));
        assert_eq!(decode("  0a 0b\n0c  "), Some(vec![0x0a, 0x0b, 0x0c]));
        assert_eq!(decode_array::<2>("0xabcd"), Some([0xab, 0xcd]));
        for bad in ["", "0x", "abc", "0xg0", "0x 0x00", "00x0", "zz"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        assert_eq!(decode_array::<3>("0xabcd"), None);
    }
}
