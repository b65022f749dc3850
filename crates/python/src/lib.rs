//! # sc-python: the `secure_channel` Python package
//!
//! PyO3 bindings over the Rust crates, built as an abi3 wheel (CPython 3.9 and later)
//! with maturin (`crates/python/pyproject.toml`). Nothing of the protocol or the crypto is
//! written in Python: a Python client is the Rust client.
//!
//! * `client::Client`: a channel over TCP (`Client.connect(address, policy)`), the GIL
//!   released while it waits; the asyncio client (`secure_channel.AsyncClient`) runs it
//!   off the event loop.
//! * `channel::Channel`: the client over a transport the application owns (send hook
//!   and `feed`, as the C library's init and callback).
//! * `host::Host`: the untrusted relay for Python servers.
//! * `evidence`: `verify_evidence`, `measure`, `message_length`.
//! * `errors`: the typed errors as Python exceptions (defined in
//!   `python/secure_channel/_errors.py`).
//!
//! ```python
//! import secure_channel as sc
//!
//! with sc.Client.connect("127.0.0.1:7000", sc.Policy.from_file("client-policy.toml")) as client:
//!     print(client.claims.measurement)
//!     print(client.request(b"1,2,3"))
//! ```

#![forbid(unsafe_code)]

mod channel;
mod claims;
mod client;
mod errors;
mod evidence;
mod host;
mod policy;

use pyo3::prelude::*;

/// The native part of the `secure_channel` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::Policy>()?;
    m.add_class::<claims::Claims>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<channel::Channel>()?;
    m.add_class::<host::Host>()?;
    m.add_function(wrap_pyfunction!(evidence::verify_evidence, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::measure, m)?)?;
    m.add_function(wrap_pyfunction!(evidence::message_length, m)?)?;
    m.add("MESSAGE_HEADER_LEN", sc_protocol::msgs::FRAME_HEADER_LEN)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
