//! One bounded cache for what verification may remember (evidence whose signature
//! verified, endorsement chains that verified): a map that is emptied when full, so that
//! a stream of distinct inputs costs bounded memory and never a scan.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// At most `capacity` entries; cleared when an insert finds it full.
#[derive(Debug)]
pub(crate) struct BoundedCache<K, V> {
    entries: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> BoundedCache<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key`, or the one `make` computes (remembered if it succeeds; the
    /// lock is not held while it runs).
    pub(crate) fn get_or_try_insert<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.entries().get(&key) {
            return Ok(v.clone());
        }
        let value = make()?;
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, value.clone());
        Ok(value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_successes_only_and_stays_bounded() {
        let cache = BoundedCache::new(3);
        let mut made = 0;
        for k in 0..10u32 {
            let v = cache.get_or_try_insert(k % 2, || -> Result<u32, ()> {
                made += 1;
                Ok(k % 2 * 10)
            });
            assert_eq!(v, Ok(k % 2 * 10));
        }
        assert_eq!(made, 2, "hits are not recomputed");
        for k in 100..200u32 {
            cache.get_or_try_insert(k, || Ok::<_, ()>(k)).unwrap();
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.get_or_try_insert(9, || Err("no")), Err("no"));
        assert_eq!(
            cache.get_or_try_insert(9, || Ok::<_, ()>(1)),
            Ok(1),
            "a failure is not remembered"
        );
    }
}
