//! A carrier for errors from outside the core (a parser's, a library's, the operating
//! system's), so that a typed error here can keep the cause it was built from.
//!
//! Why: in confidential computing "why did attestation fail" is the first question an
//! operator asks; an error that says "malformed evidence" and drops the parser's "unexpected
//! end at byte 1184" answers it badly.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::error::Error as StdError;
use core::fmt;

/// A foreign error kept as the cause of one of ours. Cheap to clone (shared). It compares
/// unequal to everything, itself included: two causes are not known to be the same, so
/// errors that carry one implement `PartialEq` but not `Eq` (match on the variant instead).
#[derive(Clone)]
pub struct OtherError(Arc<dyn StdError + Send + Sync>);

impl OtherError {
    /// Wraps `cause` (anything that converts into a boxed error: a typed error, a `String`,
    /// a `&str`, an `anyhow::Error`...).
    pub fn new(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(Arc::from(cause.into()))
    }

    /// The wrapped error, for downcasting to its concrete type.
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

impl PartialEq for OtherError {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

impl fmt::Debug for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for OtherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for OtherError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// Shows an error and every cause under it, joined by `": "`: what a log line or a C
/// caller's error text should say. Causes that repeat their parent's text are skipped.
///
/// ```
/// use sc_protocol::{ErrorChain, OtherError};
/// let cause = OtherError::new("unexpected end of input at byte 12");
/// let e = sc_protocol::AttestationError::Malformed { what: "SEV-SNP report", cause: Some(cause) };
/// assert_eq!(
///     ErrorChain(&e).to_string(),
///     "malformed evidence: SEV-SNP report: unexpected end of input at byte 12"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'a));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use alloc::string::ToString;
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] OtherError);

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn the_chain_keeps_every_cause_below_the_carrier() {
        let e = Outer(OtherError::new(Middle(Inner)));
        assert_eq!(ErrorChain(&e).to_string(), "outer: middle: inner");
    }

    #[test]
    fn a_carrier_is_equal_to_nothing_and_clones_share_the_cause() {
        let a = OtherError::new("x");
        let b = a.clone();
        assert!(a != b);
        assert_eq!(a.to_string(), b.to_string());
        assert!(a.get_ref().downcast_ref::<Inner>().is_none());
        let typed = OtherError::new(Inner);
        assert!(typed.get_ref().downcast_ref::<Inner>().is_some());
    }
}
