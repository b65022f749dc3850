//! Where an enclave program listens: `vsock://CID:PORT` (a confidential VM, from its
//! host), `unix://PATH` and `tcp://HOST:PORT` (development, and a TEE reached over a
//! network the operator trusts to carry ciphertext only).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An enclave program's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// AF_VSOCK: context id and port (the guest's CID from its host; 1 is the local
    /// loopback where the kernel offers it; `any`, `u32::MAX`, to listen in a guest).
    Vsock {
        /// Context id.
        cid: u32,
        /// Port.
        port: u32,
    },
    /// A Unix stream socket's path.
    Unix(PathBuf),
    /// A TCP address (`host:port`, resolved when connecting).
    Tcp(String),
}

/// An address that could not be read; the text says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enclave address {text:?}: {why} (expected vsock://CID:PORT, unix://PATH or tcp://HOST:PORT)")]
pub struct AddressError {
    text: String,
    why: &'static str,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, AddressError> {
        let err = |why| AddressError {
            text: text.to_owned(),
            why,
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| err("no scheme"))?;
        match scheme {
            "vsock" => {
                let (cid, port) = rest.split_once(':').ok_or_else(|| err("no port"))?;
                // `any`: VMADDR_CID_ANY, for an enclave program listening in a guest.
                let cid = if cid == "any" {
                    u32::MAX
                } else {
                    cid.parse().map_err(|_| err("the CID is not a number or any"))?
                };
                Ok(Address::Vsock {
                    cid,
                    port: port.parse().map_err(|_| err("the port is not a number"))?,
                })
            }
            "unix" if !rest.is_empty() => Ok(Address::Unix(PathBuf::from(rest))),
            "unix" => Err(err("no path")),
            "tcp"
                if rest
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(Address::Tcp(rest.to_owned()))
            }
            "tcp" => Err(err("not HOST:PORT")),
            _ => Err(err("unknown scheme")),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Vsock { cid: u32::MAX, port } => write!(f, "vsock://any:{port}"),
            Address::Vsock { cid, port } => write!(f, "vsock://{cid}:{port}"),
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
            Address::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_bad_ones_say_why() {
        for text in [
            "vsock://3:7001",
            "unix:///run/sc/enclave.sock",
            "tcp://127.0.0.1:7001",
            "tcp://[::1]:9",
        ] {
            assert_eq!(text.parse::<Address>().unwrap().to_string(), text);
        }
        for (text, why) in [
            ("/run/x", "no scheme"),
            ("vsock://3", "no port"),
            ("vsock://x:1", "CID"),
            ("unix://", "no path"),
            ("tcp://host", "HOST:PORT"),
            ("tcp://:80", "HOST:PORT"),
            ("http://x:1", "unknown scheme"),
        ] {
            let e = text.parse::<Address>().unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains(text) && e.contains("vsock://CID:PORT"),
                "{e}"
            );
        }
    }
}
