//! Name lookup over a [`Network`]: one map from element name to element, shared by validation,
//! the checker and the firewall resolver so a name means the same thing everywhere.

use std::collections::HashMap;

use mamori_core::zone::Zone;

use crate::model::{Endpoint, Network, OutsideKind, Place};

/// An element of the network, by position in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element {
    /// `segments[i]`.
    Segment(usize),
    /// `hosts[i]`.
    Host(usize),
    /// `gateways[i]`.
    Gateway(usize),
    /// `outside[i]`.
    Outside(usize),
}

/// What an endpoint stands for once names are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolved {
    /// A whole zone.
    Zone(Zone),
    /// `hosts[i]`.
    Host(usize),
    /// `segments[i]`.
    Segment(usize),
    /// `outside[i]`, or `None` for the internet at large.
    Outside(Option<usize>),
}

/// The name written for the internet at large when no `[[outside]]` place has that name.
pub const INTERNET_NAMES: [&str; 2] = ["internet", "インターネット"];

/// Element names of a network. When a name is used twice, the first use wins here; validation
/// reports the duplicate.
#[derive(Debug, Default)]
pub struct NameIndex<'a> {
    names: HashMap<&'a str, Element>,
}

impl<'a> NameIndex<'a> {
    /// Indexes every named element.
    pub fn new(net: &'a Network) -> NameIndex<'a> {
        let mut names = HashMap::with_capacity(
            net.segments.len() + net.hosts.len() + net.gateways.len() + net.outside.len(),
        );
        let all = net
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), Element::Segment(i)))
            .chain(
                net.hosts
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.name.as_str(), Element::Host(i))),
            )
            .chain(
                net.gateways
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.name.as_str(), Element::Gateway(i))),
            )
            .chain(
                net.outside
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (o.name.as_str(), Element::Outside(i))),
            );
        for (name, el) in all {
            names.entry(name).or_insert(el);
        }
        NameIndex { names }
    }

    /// The element with that name.
    pub fn get(&self, name: &str) -> Option<Element> {
        self.names.get(name).copied()
    }

    /// Resolves an endpoint, or says why it cannot be.
    pub fn resolve(&self, ep: &Endpoint) -> Result<Resolved, String> {
        let internet = |n: &str| INTERNET_NAMES.contains(&n);
        match ep {
            Endpoint::Zone(z) => Ok(Resolved::Zone(*z)),
            Endpoint::Host(n) => match self.get(n) {
                Some(Element::Host(i)) => Ok(Resolved::Host(i)),
                Some(_) => Err(format!("「{n}」はホストではありません")),
                None => Err(format!("ホスト「{n}」は定義されていません")),
            },
            Endpoint::Segment(n) => match self.get(n) {
                Some(Element::Segment(i)) => Ok(Resolved::Segment(i)),
                Some(_) => Err(format!("「{n}」はセグメントではありません")),
                None => Err(format!("セグメント「{n}」は定義されていません")),
            },
            Endpoint::Outside(n) => match self.get(n) {
                Some(Element::Outside(i)) => Ok(Resolved::Outside(Some(i))),
                Some(_) => Err(format!("「{n}」は外部の場所ではありません")),
                None if internet(n) => Ok(Resolved::Outside(None)),
                None => Err(format!("外部の場所「{n}」は定義されていません")),
            },
            Endpoint::Name(n) => match self.get(n) {
                Some(Element::Host(i)) => Ok(Resolved::Host(i)),
                Some(Element::Segment(i)) => Ok(Resolved::Segment(i)),
                Some(Element::Outside(i)) => Ok(Resolved::Outside(Some(i))),
                Some(Element::Gateway(_)) => Err(format!(
                    "「{n}」はゲートウェイです。通信の端点ではなく via に書いてください"
                )),
                None if internet(n) => Ok(Resolved::Outside(None)),
                None => Err(format!("「{n}」という名前の要素は定義されていません")),
            },
        }
    }
}

/// The place an endpoint is in.
pub fn place_of(net: &Network, r: Resolved) -> Place {
    match r {
        Resolved::Zone(z) => Place::Zone(z),
        Resolved::Host(i) => net
            .hosts
            .get(i)
            .map_or(Place::Outside(OutsideKind::Internet), |h| {
                Place::Zone(h.zone)
            }),
        Resolved::Segment(i) => net
            .segments
            .get(i)
            .map_or(Place::Outside(OutsideKind::Internet), |s| {
                Place::Zone(s.zone)
            }),
        Resolved::Outside(Some(i)) => {
            Place::Outside(net.outside.get(i).map_or(OutsideKind::Internet, |o| o.kind))
        }
        Resolved::Outside(None) => Place::Outside(OutsideKind::Internet),
    }
}
