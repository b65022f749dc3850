//! The application's connection as the library sees it (secure_channel.h): a send hook and
//! an opaque connection pointer.

use std::ffi::{c_int, c_void};

/// The application's send hook: sends `count` bytes of one channel message to the peer
/// over the connection `conn`; returns a negative value on failure. Any other value means
/// success, as in the original library: its examples return 0 or the bytes written
/// including a header of their own, and a hook must deliver the whole message either way.
#[allow(non_camel_case_types)]
pub type cc_conn_opt_funcptr_t =
    Option<unsafe extern "C" fn(conn: *mut c_void, buf: *mut c_void, count: usize) -> c_int>;

/// The application's connection: valid when neither field is NULL.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cc_connection_kit {
    /// Sends one channel message.
    pub send: cc_conn_opt_funcptr_t,
    /// The application's connection, passed back to `send`.
    pub conn: *mut c_void,
}

/// The connection kit by its short name.
#[allow(non_camel_case_types)]
pub type cc_conn_kit_t = cc_connection_kit;

/// A checked connection kit that the library may call from any of its threads.
#[derive(Debug, Clone, Copy)]
pub struct ConnKit {
    send: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> c_int,
    conn: *mut c_void,
}

// SAFETY: the C contract (secure_channel.h) says the hook may be called from the library's
// threads and that `conn` stays valid until fini; the library never dereferences `conn`.
unsafe impl Send for ConnKit {}
// SAFETY: as above; the library only passes `conn` back to the application's hook.
unsafe impl Sync for ConnKit {}

impl ConnKit {
    /// Checks a kit: `None` when `send` or `conn` is NULL.
    pub fn new(kit: &cc_conn_kit_t) -> Option<Self> {
        match (kit.send, kit.conn.is_null()) {
            (Some(send), false) => Some(Self { send, conn: kit.conn }),
            _ => None,
        }
    }

    /// Sends `message` through the hook. The hook gets a private copy: the C prototype
    /// takes a mutable pointer, and the application must not be able to change our data.
    pub fn send(&self, message: &[u8]) -> std::io::Result<()> {
        let mut copy = message.to_vec();
        // SAFETY: `send` is the application's hook, called as its prototype says, with a
        // pointer to `copy.len()` valid bytes that outlive the call, and `conn` passed back
        // unchanged.
        let sent = unsafe { (self.send)(self.conn, copy.as_mut_ptr().cast(), copy.len()) };
        if sent < 0 {
            return Err(std::io::Error::other(format!("send hook returned {sent}")));
        }
        Ok(())
    }
}
