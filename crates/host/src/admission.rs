//! The connection table: every client connection with its phase, counted by phase and by
//! source address, in arrival order for eviction and deadline sweeps.
//!
//! Why arrival order comes free: connection ids are handed out in increasing order, so a
//! `BTreeSet<ConnId>` is ordered oldest first. Evicting a handshake or sweeping expired
//! ones costs O(log n) per connection touched, never a scan of the table.
//!
//! Why eviction picks the heaviest source first: under a flood from a few addresses, the
//! oldest handshake overall is as likely to be a legitimate client's as an attacker's;
//! the oldest handshake of the address holding the most is almost surely the attacker's.
//! So a legitimate client on an address of its own keeps its slot however large the
//! flood, and a flood only displaces itself.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// A client connection, as numbered by the host (increasing: older ids are smaller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

/// Called when the host drops a connection on its own (eviction, enclave restart), so that
/// the server owning the socket closes it now rather than at its next deadline.
pub type EvictHook = Arc<dyn Fn() + Send + Sync>;

/// Where a connection is in the channel's life.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase {
    /// Nothing received yet.
    New,
    /// A pending-handshake slot is reserved for the ClientHello about to go to the enclave.
    Reserved,
    /// A ClientHello is with the enclave: the pending slot is reserved before the call, so
    /// that concurrent hellos cannot overshoot the limit.
    Hello,
    /// The enclave answered; its ClientFinished is awaited.
    Pending(u64),
    /// The ClientFinished is with the enclave: a session slot is held for it, so that
    /// concurrent (or earlier-admitted) handshakes cannot finish past `max_sessions`.
    Finishing(u64),
    /// Established.
    Open(u64),
}

impl Phase {
    pub(crate) fn is_pending(self) -> bool {
        matches!(
            self,
            Phase::Reserved | Phase::Hello | Phase::Pending(_) | Phase::Finishing(_)
        )
    }

    /// The enclave session this phase holds, if any.
    pub(crate) fn session(self) -> Option<u64> {
        match self {
            Phase::Pending(id) | Phase::Finishing(id) | Phase::Open(id) => Some(id),
            Phase::New | Phase::Reserved | Phase::Hello => None,
        }
    }
}

/// A source address as counted for per-source caps: IPv4 as is (IPv4-mapped IPv6 too),
/// IPv6 by its /64, the smallest block one subscriber usually holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Source(IpAddr);

impl Source {
    pub(crate) fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => Source(IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())),
            },
            v4 => Source(v4),
        }
    }
}

/// One connection's entry.
pub(crate) struct Conn {
    pub(crate) phase: Phase,
    pub(crate) last_seen: Instant,
    pub(crate) started: Instant,
    pub(crate) source: Option<Source>,
    pub(crate) evict: Option<EvictHook>,
}

impl Conn {
    pub(crate) fn new(now: Instant, source: Option<Source>, evict: Option<EvictHook>) -> Self {
        Self {
            phase: Phase::New,
            last_seen: now,
            started: now,
            source,
            evict,
        }
    }
}

/// Connections that may be evicted, grouped by source (connections without one, from
/// the C interface, form a group of their own) and ranked by how many each group holds.
#[derive(Default)]
struct EvictionIndex {
    groups: HashMap<Option<Source>, BTreeSet<ConnId>>,
    /// (members, oldest member, group): the last is the heaviest group, and among equally
    /// heavy groups the one holding the oldest member.
    rank: BTreeSet<(usize, Reverse<ConnId>, Option<Source>)>,
    /// Every member, oldest first (for deadline sweeps).
    all: BTreeSet<ConnId>,
}

impl EvictionIndex {
    fn update(&mut self, id: ConnId, group: Option<Source>, add: bool) {
        let members = self.groups.entry(group).or_default();
        let key = |m: &BTreeSet<ConnId>| m.first().map(|oldest| (m.len(), Reverse(*oldest), group));
        let before = key(members);
        if add {
            members.insert(id);
            self.all.insert(id);
        } else {
            members.remove(&id);
            self.all.remove(&id);
        }
        let after = key(members);
        if after.is_none() {
            self.groups.remove(&group);
        }
        if before != after {
            if let Some(k) = before {
                self.rank.remove(&k);
            }
            if let Some(k) = after {
                self.rank.insert(k);
            }
        }
    }

    /// How many members `group` has.
    fn len_of(&self, group: Option<Source>) -> usize {
        self.groups.get(&group).map_or(0, BTreeSet::len)
    }

    /// A member of the heaviest group: its oldest that `prefer` accepts, else its oldest.
    /// The group is chosen first: preferences never shift an eviction onto a lighter
    /// source.
    fn pick(&self, prefer: impl Fn(ConnId) -> bool) -> Option<ConnId> {
        let (_, Reverse(oldest), group) = self.rank.last()?;
        let members = self.groups.get(group)?;
        Some(members.iter().copied().find(|id| prefer(*id)).unwrap_or(*oldest))
    }
}

/// Connections and their counts (kept together under one lock).
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) open: usize,
    /// Connections in [`Phase::Finishing`]: session slots held for finishing handshakes.
    pub(crate) finishing: usize,
    /// Not yet established (New, Reserved, Hello, Pending).
    handshaking: EvictionIndex,
    /// Holding a pending-handshake slot (Reserved, Hello, Pending): also the pending counts.
    pending_slots: EvictionIndex,
    /// Open connections per source.
    sources: HashMap<Source, usize>,
}

impl Table {
    /// Handshakes holding a pending slot.
    pub(crate) fn pending(&self) -> usize {
        self.pending_slots.all.len()
    }

    /// Handshakes holding a pending slot from `source`.
    pub(crate) fn pending_from(&self, source: Source) -> usize {
        self.pending_slots.len_of(Some(source))
    }

    /// Open connections from `source`.
    pub(crate) fn conns_from(&self, source: Source) -> usize {
        self.sources.get(&source).copied().unwrap_or(0)
    }

    /// Adds or removes `conn`'s phase from the counts and order sets.
    fn account(&mut self, id: ConnId, conn: &Conn, add: bool) {
        let phase = conn.phase;
        let step = |n: usize| if add { n + 1 } else { n.saturating_sub(1) };
        match phase {
            Phase::Open(_) => self.open = step(self.open),
            Phase::Finishing(_) => self.finishing = step(self.finishing),
            _ => {}
        }
        if !matches!(phase, Phase::Open(_)) {
            self.handshaking.update(id, conn.source, add);
        }
        if phase.is_pending() {
            self.pending_slots.update(id, conn.source, add);
        }
    }

    pub(crate) fn insert(&mut self, id: ConnId, conn: Conn) {
        self.account(id, &conn, true);
        if let Some(s) = conn.source {
            *self.sources.entry(s).or_default() += 1;
        }
        self.conns.insert(id, conn);
    }

    pub(crate) fn set_phase(&mut self, id: ConnId, phase: Phase) -> bool {
        let Some(mut conn) = self.conns.remove(&id) else {
            return false;
        };
        self.account(id, &conn, false);
        conn.phase = phase;
        self.account(id, &conn, true);
        self.conns.insert(id, conn);
        true
    }

    pub(crate) fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        self.account(id, &conn, false);
        if let Some(s) = conn.source {
            if let std::collections::hash_map::Entry::Occupied(mut e) = self.sources.entry(s) {
                *e.get_mut() -= 1;
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
        Some(conn)
    }

    /// Whether a handshake is a first choice for eviction within its source: not while its
    /// ClientHello or ClientFinished is at the enclave (that work would be wasted). Such a handshake goes
    /// only when its source has nothing else, so that a table full of hellos in flight
    /// cannot refuse a newcomer; the enclave's answer is then dropped when it comes.
    fn evictable(&self, id: ConnId) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|c| !matches!(c.phase, Phase::Hello | Phase::Finishing(_)))
    }

    /// The connection to evict for room in the connection table: an unfinished handshake
    /// of the source holding the most (its oldest not at the enclave, else its oldest).
    pub(crate) fn handshake_to_evict(&self) -> Option<ConnId> {
        self.handshaking.pick(|id| self.evictable(id))
    }

    /// The handshake to evict for room in the pending table: one of the source holding the
    /// most slots (its oldest not at the enclave, else its oldest). Evicting a reserved
    /// slot (its hello still queued for the enclave) also saves the enclave's work.
    pub(crate) fn pending_to_evict(&self) -> Option<ConnId> {
        self.pending_slots.pick(|id| self.evictable(id))
    }

    /// Handshaking connections that started before `cutoff`, oldest first.
    pub(crate) fn handshakes_started_before(&self, cutoff: Instant) -> Vec<ConnId> {
        self.handshaking
            .all
            .iter()
            .take_while(|id| self.conns.get(id).is_some_and(|c| c.started < cutoff))
            .copied()
            .collect()
    }

    /// Every connection (for `fini` and enclave restarts).
    pub(crate) fn drain(&mut self) -> Vec<Conn> {
        let all = std::mem::take(&mut self.conns);
        *self = Table::default();
        all.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_phases_and_sources() {
        let now = Instant::now();
        let a = Source::of("127.0.0.2".parse().unwrap());
        let mut t = Table::default();
        t.insert(ConnId(1), Conn::new(now, Some(a), None));
        t.insert(ConnId(2), Conn::new(now, Some(a), None));
        assert_eq!((t.conns_from(a), t.pending_from(a)), (2, 0));
        t.set_phase(ConnId(1), Phase::Reserved);
        t.set_phase(ConnId(1), Phase::Hello);
        assert_eq!(
            t.pending_to_evict(),
            Some(ConnId(1)),
            "a hello at the enclave goes only when nothing else can"
        );
        t.set_phase(ConnId(1), Phase::Pending(9));
        assert_eq!((t.pending(), t.pending_from(a)), (1, 1));
        assert_eq!(t.pending_to_evict(), Some(ConnId(1)));
        t.set_phase(ConnId(1), Phase::Open(9));
        assert_eq!((t.pending(), t.open, t.pending_from(a)), (0, 1, 0));
        assert_eq!(t.handshake_to_evict(), Some(ConnId(2)));
        assert_eq!(t.pending_to_evict(), None);
        t.remove(ConnId(1));
        t.remove(ConnId(2));
        assert_eq!((t.open, t.pending(), t.conns.len()), (0, 0, 0));
        assert!(t.sources.is_empty(), "no per-source entry outlives its connections");
    }

    #[test]
    fn eviction_takes_the_oldest_of_the_heaviest_source() {
        let now = Instant::now();
        let (flood, legit) = (
            Source::of("127.0.0.2".parse().unwrap()),
            Source::of("127.0.0.1".parse().unwrap()),
        );
        let mut t = Table::default();
        // The legitimate client's handshake is the oldest overall.
        t.insert(ConnId(1), Conn::new(now, Some(legit), None));
        for id in 2..6 {
            t.insert(ConnId(id), Conn::new(now, Some(flood), None));
        }
        for id in 1..6 {
            t.set_phase(ConnId(id), Phase::Pending(id));
        }
        assert_eq!(t.pending_to_evict(), Some(ConnId(2)));
        assert_eq!(t.handshake_to_evict(), Some(ConnId(2)));
        for id in 2..6 {
            t.remove(ConnId(id));
        }
        assert_eq!(t.pending_to_evict(), Some(ConnId(1)), "alone, it is the heaviest");
        // Equally heavy sources: the oldest handshake among them goes first.
        t.insert(ConnId(7), Conn::new(now, Some(flood), None));
        t.set_phase(ConnId(7), Phase::Pending(7));
        assert_eq!(t.pending_to_evict(), Some(ConnId(1)));
        t.remove(ConnId(1));
        t.remove(ConnId(7));
        assert_eq!(t.pending_to_evict(), None);
        assert!(t.handshaking.rank.is_empty() && t.handshaking.groups.is_empty());
    }

    #[test]
    fn a_light_source_keeps_its_slot_while_a_heavy_one_has_only_hellos_in_flight() {
        let now = Instant::now();
        let (flood, legit) = (
            Source::of("127.0.0.2".parse().unwrap()),
            Source::of("127.0.0.1".parse().unwrap()),
        );
        let mut t = Table::default();
        for id in 1..5 {
            t.insert(ConnId(id), Conn::new(now, Some(flood), None));
            t.set_phase(ConnId(id), Phase::Hello);
        }
        // The legitimate client waits for its ClientFinished to arrive: evictable, but its
        // source holds one slot against the flood's four.
        t.insert(ConnId(9), Conn::new(now, Some(legit), None));
        t.set_phase(ConnId(9), Phase::Pending(9));
        assert_eq!(t.pending_to_evict(), Some(ConnId(1)));
        assert_eq!(t.handshake_to_evict(), Some(ConnId(1)));
    }

    /// The eviction choice, computed the slow way from the table itself: the group holding
    /// the most slots (ties: the one holding the oldest slot), then its oldest member not
    /// at the enclave, else its oldest.
    fn naive_pending_victim(t: &Table) -> Option<ConnId> {
        let mut groups: HashMap<Option<Source>, Vec<ConnId>> = HashMap::new();
        for (id, c) in &t.conns {
            if c.phase.is_pending() {
                groups.entry(c.source).or_default().push(*id);
            }
        }
        let mut ranked: Vec<(usize, Reverse<ConnId>, Vec<ConnId>)> = groups
            .into_values()
            .map(|mut m| {
                m.sort();
                (m.len(), Reverse(m[0]), m)
            })
            .collect();
        ranked.sort_by_key(|r| Reverse((r.0, r.1)));
        let (_, _, heaviest) = ranked.first()?;
        let not_at_enclave = heaviest
            .iter()
            .copied()
            .find(|id| !matches!(t.conns[id].phase, Phase::Hello));
        Some(not_at_enclave.unwrap_or(heaviest[0]))
    }

    #[test]
    fn eviction_index_agrees_with_a_naive_model_under_random_operations() {
        let now = Instant::now();
        let mut t = Table::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut next_id = 1;
        for _ in 0..5_000 {
            let r = next();
            let live: Vec<ConnId> = t.conns.keys().copied().collect();
            match r % 5 {
                0 | 1 => {
                    let source = match (r >> 8) % 5 {
                        0 => None,
                        n => Some(Source::of(IpAddr::from([127, 0, 0, n as u8]))),
                    };
                    t.insert(ConnId(next_id), Conn::new(now, source, None));
                    next_id += 1;
                }
                2 | 3 if !live.is_empty() => {
                    let id = live[(r >> 8) as usize % live.len()];
                    let phase = match (r >> 16) % 5 {
                        0 => Phase::New,
                        1 => Phase::Reserved,
                        2 => Phase::Hello,
                        3 => Phase::Pending(id.0),
                        _ => Phase::Open(id.0),
                    };
                    t.set_phase(id, phase);
                }
                _ if !live.is_empty() => {
                    let id = match t.pending_to_evict() {
                        Some(v) if r & 0x100 == 0 => v,
                        _ => live[(r >> 8) as usize % live.len()],
                    };
                    t.remove(id);
                }
                _ => {}
            }
            assert_eq!(t.pending_to_evict(), naive_pending_victim(&t));
            let pending = t.conns.values().filter(|c| c.phase.is_pending()).count();
            assert_eq!(t.pending(), pending);
        }
    }

    #[test]
    fn ipv6_sources_are_counted_by_slash_64() {
        let a = Source::of("2001:db8:1:2::1".parse().unwrap());
        let b = Source::of("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = Source::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            Source::of("::ffff:10.0.0.1".parse().unwrap()),
            Source::of("10.0.0.1".parse().unwrap())
        );
    }
}
