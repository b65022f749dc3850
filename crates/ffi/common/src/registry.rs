//! Objects handed to C as handles, not pointers. C keeps a handle (an integer that fits in
//! a pointer field); each call looks it up. A stale, forged or doubly freed handle is then
//! just "not found" and gets an error code, never a use-after-free.

use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// A table of live objects by handle.
#[derive(Debug)]
pub struct Registry<T> {
    objects: RwLock<BTreeMap<u64, Arc<T>>>,
    next: OnceLock<AtomicU64>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Registry<T> {
    /// An empty registry (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            objects: RwLock::new(BTreeMap::new()),
            next: OnceLock::new(),
        }
    }

    /// Stores `object`; returns its handle, never 0. Handles start at a random point so
    /// that an uninitialised field is unlikely to name a live object.
    pub fn insert(&self, object: T) -> u64 {
        let next = self.next.get_or_init(|| AtomicU64::new((OsRng.next_u64() >> 16) | 1));
        let handle = next.fetch_add(1, Ordering::Relaxed).max(1);
        self.write().insert(handle, Arc::new(object));
        handle
    }

    /// The object behind `handle`, if it is live.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        self.objects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&handle)
            .cloned()
    }

    /// Removes and returns the object behind `handle`.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        self.write().remove(&handle)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Arc<T>>> {
        self.objects.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_nonzero_and_dead_after_removal() {
        let r = Registry::new();
        let a = r.insert("a");
        let b = r.insert("b");
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(*r.get(a).unwrap(), "a");
        assert_eq!(*r.remove(a).unwrap(), "a");
        assert!(r.get(a).is_none() && r.remove(a).is_none());
        assert_eq!(*r.get(b).unwrap(), "b");
    }
}
