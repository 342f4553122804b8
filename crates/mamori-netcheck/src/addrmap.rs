//! Addresses to places: the segments and outside places cut the address space into disjoint
//! cells, each knowing which segments cover it. Lookups are a binary search, so resolving a
//! firewall rule or a host address does not scan every segment.
//!
//! IPv4 addresses live in the IPv4-mapped part of the IPv6 space (`::ffff:a.b.c.d`), so one
//! `u128` line holds both families.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Network, Place, PlaceSet};

/// Owners kept per cell; beyond this, a cell only knows its places.
const OWNERS_PER_CELL: usize = 32;

/// Covering ranges looked at per cell when looking for the most specific segment.
const SCAN_PER_CELL: usize = 1024;

/// Who declared an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// `segments[i]`.
    Segment(usize),
    /// `outside[i]`.
    Outside(usize),
}

#[derive(Debug, Clone, Default)]
struct Cell {
    /// Segments and outside places covering the whole cell.
    owners: Vec<Owner>,
    /// Places of those owners.
    places: PlaceSet,
    /// The segments with the longest prefix (several when equal ranges are declared twice).
    best_segments: Vec<usize>,
}

/// The address space cut into cells.
#[derive(Debug, Clone)]
pub struct AddrMap {
    starts: Vec<u128>,
    cells: Vec<Cell>,
}

const V4_MAPPED: u128 = 0xffff_0000_0000;

/// The position of an address on the shared line.
pub fn key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => V4_MAPPED | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// First and last position of a network.
pub fn range(net: &IpNet) -> (u128, u128) {
    (key(net.network()), key(net.broadcast()))
}

/// Address space that is never the internet: RFC 1918, shared (100.64/10), loopback,
/// link-local and unique-local IPv6, as positions on the shared line.
const PRIVATE: [(u128, u128); 8] = [
    (V4_MAPPED | 0x0a00_0000, V4_MAPPED | 0x0aff_ffff),
    (V4_MAPPED | 0xac10_0000, V4_MAPPED | 0xac1f_ffff),
    (V4_MAPPED | 0xc0a8_0000, V4_MAPPED | 0xc0a8_ffff),
    (V4_MAPPED | 0x6440_0000, V4_MAPPED | 0x647f_ffff),
    (V4_MAPPED | 0x7f00_0000, V4_MAPPED | 0x7fff_ffff),
    (V4_MAPPED | 0xa9fe_0000, V4_MAPPED | 0xa9fe_ffff),
    (0xfc00_u128 << 112, (0xfe00_u128 << 112) - 1),
    (0xfe80_u128 << 112, (0xfec0_u128 << 112) - 1),
];

/// What a range of addresses resolves to.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Places of the segments and outside places it touches.
    pub places: PlaceSet,
    /// Part of the range is covered by nothing declared.
    pub uncovered: bool,
    /// Part of the uncovered range is public address space (the internet, as far as we know).
    /// Undeclared private addresses are unknown, not the internet.
    pub uncovered_public: bool,
    /// Every owner touched.
    pub owners: BTreeSet<Owner>,
}

impl AddrMap {
    /// Builds the map of a network's segments and outside places.
    pub fn new(net: &Network) -> AddrMap {
        let mut ranges: Vec<(u128, u128, Owner, u8, Place)> = Vec::new();
        for (i, s) in net.segments.iter().enumerate() {
            let (a, b) = range(&s.cidr.trunc());
            ranges.push((
                a,
                b,
                Owner::Segment(i),
                s.cidr.prefix_len(),
                Place::Zone(s.zone),
            ));
        }
        for (i, o) in net.outside.iter().enumerate() {
            for c in &o.cidrs {
                let (a, b) = range(&c.trunc());
                ranges.push((
                    a,
                    b,
                    Owner::Outside(i),
                    c.prefix_len(),
                    Place::Outside(o.kind),
                ));
            }
        }
        // Events: a range opens at its first address and closes after its last.
        let mut events: Vec<(u128, bool, usize)> = Vec::with_capacity(ranges.len() * 2 + 1);
        for (n, (a, b, ..)) in ranges.iter().enumerate() {
            events.push((*a, true, n));
            if let Some(end) = b.checked_add(1) {
                events.push((end, false, n));
            }
        }
        events.sort_unstable();
        let mut starts = vec![0u128];
        let mut cells = vec![Cell::default()];
        // Per-cell work must not grow with the number of ranges covering the cell, or a file
        // with thousands of identical ranges would take quadratic time: places are counted,
        // the most specific segments come from an ordered set, and each cell keeps at most
        // OWNERS_PER_CELL owners (enough to name overlaps and outside places).
        let mut active: BTreeSet<(u8, usize)> = BTreeSet::new();
        let mut place_counts = [0usize; 7];
        let place_pos = |p: Place| Place::ALL.iter().position(|q| *q == p).unwrap_or(0);
        let mut pos = 0usize;
        while pos < events.len() {
            let Some(&(at, ..)) = events.get(pos) else {
                break;
            };
            while let Some(&(t, open, n)) = events.get(pos) {
                if t != at {
                    break;
                }
                if let Some(&(_, _, _, plen, place)) = ranges.get(n)
                    && let Some(count) = place_counts.get_mut(place_pos(place))
                {
                    if open {
                        active.insert((plen, n));
                        *count += 1;
                    } else {
                        active.remove(&(plen, n));
                        *count = count.saturating_sub(1);
                    }
                }
                pos += 1;
            }
            let mut cell = Cell::default();
            for (i, p) in Place::ALL.into_iter().enumerate() {
                if place_counts.get(i).is_some_and(|c| *c > 0) {
                    cell.places.insert(p);
                }
            }
            // Most specific first.
            let mut best_len: Option<u8> = None;
            for &(plen, n) in active.iter().rev().take(SCAN_PER_CELL) {
                let Some(&(_, _, owner, ..)) = ranges.get(n) else {
                    continue;
                };
                if cell.owners.len() < OWNERS_PER_CELL {
                    cell.owners.push(owner);
                }
                if let Owner::Segment(i) = owner
                    && best_len.is_none_or(|b| b == plen)
                    && cell.best_segments.len() < OWNERS_PER_CELL
                {
                    best_len = Some(plen);
                    cell.best_segments.push(i);
                }
                if cell.owners.len() >= OWNERS_PER_CELL
                    && (best_len.is_some_and(|b| plen < b)
                        || cell.best_segments.len() >= OWNERS_PER_CELL)
                {
                    break;
                }
            }
            cell.owners.sort_unstable();
            cell.owners.dedup();
            cell.best_segments.sort_unstable();
            if starts.last() == Some(&at) {
                if let Some(last) = cells.last_mut() {
                    *last = cell;
                }
            } else {
                starts.push(at);
                cells.push(cell);
            }
        }
        AddrMap { starts, cells }
    }

    fn cell_index(&self, k: u128) -> usize {
        self.starts.partition_point(|s| *s <= k).saturating_sub(1)
    }

    /// The most specific segments containing the address (usually one).
    pub fn segments_of(&self, addr: IpAddr) -> &[usize] {
        self.cells
            .get(self.cell_index(key(addr)))
            .map_or(&[], |c| c.best_segments.as_slice())
    }

    /// What the range `[first, last]` touches.
    pub fn cover(&self, first: u128, last: u128, out: &mut Coverage) {
        let mut i = self.cell_index(first);
        while let (Some(start), Some(cell)) = (self.starts.get(i), self.cells.get(i)) {
            if *start > last {
                break;
            }
            out.places = out.places.union(cell.places);
            if cell.owners.is_empty() {
                out.uncovered = true;
                let end = self
                    .starts
                    .get(i + 1)
                    .map_or(u128::MAX, |n| n.saturating_sub(1));
                let (a, b) = ((*start).max(first), end.min(last));
                if !PRIVATE.iter().any(|(p, q)| *p <= a && b <= *q) {
                    out.uncovered_public = true;
                }
            }
            out.owners.extend(cell.owners.iter().copied());
            i += 1;
        }
    }

    /// Pairs of segments that share at least one cell and for which `report` holds (e.g. they
    /// are in different zones), at most `limit` of them.
    pub fn overlapping_segments(
        &self,
        report: impl Fn(usize, usize) -> bool,
        limit: usize,
    ) -> BTreeSet<(usize, usize)> {
        let mut pairs = BTreeSet::new();
        for cell in &self.cells {
            let segs: Vec<usize> = cell
                .owners
                .iter()
                .filter_map(|o| match o {
                    Owner::Segment(i) => Some(*i),
                    Owner::Outside(_) => None,
                })
                .collect();
            for (n, a) in segs.iter().enumerate() {
                for b in segs.iter().skip(n + 1) {
                    if report(*a, *b) {
                        pairs.insert(((*a).min(*b), (*a).max(*b)));
                        if pairs.len() >= limit {
                            return pairs;
                        }
                    }
                }
            }
        }
        pairs
    }
}
