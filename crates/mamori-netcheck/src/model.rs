//! The network description: zones and outside places, the network model (α/α'/β/β'), segments,
//! hosts, gateways and flows (基本方針 §2(8)–(12), §6(3)).
//!
//! The serde shape of [`Network`] *is* the file format: the same value reads from and writes to
//! TOML (`[network]`, `[[segment]]`, `[[host]]`, …) and JSON, so the web app can store the model
//! as JSON and offer it back as TOML without a second schema.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use mamori_core::zone::Zone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rules::Rule;

/// A whole network description: what `mamori netcheck FILE` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Name, organisation and network model.
    pub network: NetworkInfo,
    /// Address ranges, each in exactly one zone.
    #[serde(rename = "segment", default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    /// Terminals, servers and network devices.
    #[serde(rename = "host", default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Host>,
    /// 無害化, 画面転送, security cloud and LGWAN-ASP gateways bridging zones.
    #[serde(rename = "gateway", default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Gateway>,
    /// Places outside the three zones (security cloud, ガバメントクラウド, cloud services).
    #[serde(rename = "outside", default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<OutsidePlace>,
    /// Permitted communication, as the organisation registers it.
    #[serde(rename = "flow", default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Flow>,
    /// The organisation's own rules, checked after the built-in ones.
    #[serde(rename = "rule", default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

impl Network {
    /// An empty network description, as the web app starts one.
    pub fn new(name: &str, model: NetworkModel) -> Network {
        Network {
            network: NetworkInfo {
                name: name.to_owned(),
                organisation: None,
                model,
                direct_services: Vec::new(),
                beta_controls: default_beta_controls(),
            },
            segments: Vec::new(),
            hosts: Vec::new(),
            gateways: Vec::new(),
            outside: Vec::new(),
            flows: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// The `[network]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkInfo {
    /// Name of the described network, shown in reports.
    pub name: String,
    /// The organisation it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// α, α', β or β'.
    pub model: NetworkModel,
    /// Cloud services LGWAN or internet-zone hosts may reach directly (α' / β' only): names of
    /// `[[outside]]` places of kind `cloud_service`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub direct_services: Vec<String>,
    /// Controls every インターネット接続系 terminal needs under β / β'.
    #[serde(default = "default_beta_controls")]
    pub beta_controls: Vec<Control>,
}

fn default_beta_controls() -> Vec<Control> {
    vec![Control::Mfa, Control::Edr, Control::LogMonitoring]
}

/// Where staff terminals and systems sit (三層の対策 network models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetworkModel {
    /// α: terminals and systems in LGWAN; internet via 画面転送 and 無害化.
    Alpha,
    /// α': α plus restricted direct access to named cloud services.
    AlphaPrime,
    /// β: terminals in the internet zone; core systems stay in LGWAN.
    Beta,
    /// β': most systems in the internet zone.
    BetaPrime,
}

impl NetworkModel {
    /// The code used in files.
    pub fn code(self) -> &'static str {
        match self {
            NetworkModel::Alpha => "alpha",
            NetworkModel::AlphaPrime => "alpha_prime",
            NetworkModel::Beta => "beta",
            NetworkModel::BetaPrime => "beta_prime",
        }
    }

    /// The label used in guidance documents.
    pub fn label(self) -> &'static str {
        match self {
            NetworkModel::Alpha => "αモデル",
            NetworkModel::AlphaPrime => "α'モデル",
            NetworkModel::Beta => "βモデル",
            NetworkModel::BetaPrime => "β'モデル",
        }
    }

    /// β and β' put staff terminals in the internet zone and demand extra controls.
    pub fn is_beta(self) -> bool {
        matches!(self, NetworkModel::Beta | NetworkModel::BetaPrime)
    }

    /// α' and β' allow named cloud services to be reached directly.
    pub fn allows_direct_services(self) -> bool {
        matches!(self, NetworkModel::AlphaPrime | NetworkModel::BetaPrime)
    }
}

impl FromStr for NetworkModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = mamori_core::text::fold(s).replace(['’', '′', 'ʼ'], "'");
        let key = key.trim_end_matches("モデル");
        match key {
            "alpha" | "α" => Ok(NetworkModel::Alpha),
            "alpha_prime" | "alpha'" | "α'" => Ok(NetworkModel::AlphaPrime),
            "beta" | "β" => Ok(NetworkModel::Beta),
            "beta_prime" | "beta'" | "β'" => Ok(NetworkModel::BetaPrime),
            _ => Err(format!(
                "ネットワークモデル「{s}」は認識できません（alpha / alpha_prime / beta / beta_prime）"
            )),
        }
    }
}

/// Values written as one string in files (`"lgwan"`, `"host:住基端末"`, `"80,443"`) get their
/// serde impls from `Display` / `FromStr`, so TOML, JSON and error messages spell them alike.
macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

impl fmt::Display for NetworkModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
string_serde!(NetworkModel);

/// Zones read forgivingly (「LGWAN接続系」, 「マイナンバー系」, `lgwan`) but are written as codes.
pub(crate) mod zone_serde {
    use super::*;

    pub fn serialize<S: Serializer>(zone: &Zone, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(zone.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A list of zones read the same forgiving way.
pub(crate) mod zones_serde {
    use super::*;

    pub fn serialize<S: Serializer>(zones: &[Zone], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(zones.iter().map(|z| z.code()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Zone>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Addresses and CIDRs with errors in Japanese that quote the value (the position comes from
/// the reader).
pub(crate) mod addr_serde {
    use super::*;

    fn net(text: &str) -> Result<IpNet, String> {
        text.trim().parse::<IpNet>().map_err(|_| {
            format!("「{text}」は正しいCIDRではありません（例: 10.20.1.0/24, fd00:20::/64）")
        })
    }

    fn addr(text: &str) -> Result<IpAddr, String> {
        text.trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("「{text}」は正しいIPアドレスではありません（例: 10.20.1.11）"))
    }

    pub mod one_net {
        use super::*;
        pub fn serialize<S: Serializer>(n: &IpNet, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(n)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
            net(&String::deserialize(d)?).map_err(serde::de::Error::custom)
        }
    }

    pub mod nets {
        use super::*;
        pub fn serialize<S: Serializer>(v: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(ToString::to_string))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
            let v = Vec::<String>::deserialize(d)?;
            v.iter()
                .map(|t| net(t).map_err(serde::de::Error::custom))
                .collect()
        }
    }

    pub mod addrs {
        use super::*;
        pub fn serialize<S: Serializer>(v: &[IpAddr], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(ToString::to_string))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
            let v = Vec::<String>::deserialize(d)?;
            v.iter()
                .map(|t| addr(t).map_err(serde::de::Error::custom))
                .collect()
        }
    }
}

/// The kind of a place outside the three zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutsideKind {
    /// The internet at large.
    Internet,
    /// The prefecture's 自治体情報セキュリティクラウド.
    SecurityCloud,
    /// ガバメントクラウド (standardised systems).
    GovCloud,
    /// A named cloud service (e.g. a groupware or web-conference service).
    CloudService,
}

impl OutsideKind {
    /// Every kind, in display order.
    pub const ALL: [OutsideKind; 4] = [
        OutsideKind::Internet,
        OutsideKind::SecurityCloud,
        OutsideKind::GovCloud,
        OutsideKind::CloudService,
    ];

    /// The code used in files.
    pub fn code(self) -> &'static str {
        match self {
            OutsideKind::Internet => "internet",
            OutsideKind::SecurityCloud => "security_cloud",
            OutsideKind::GovCloud => "gov_cloud",
            OutsideKind::CloudService => "cloud_service",
        }
    }

    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            OutsideKind::Internet => "インターネット",
            OutsideKind::SecurityCloud => "自治体情報セキュリティクラウド",
            OutsideKind::GovCloud => "ガバメントクラウド",
            OutsideKind::CloudService => "クラウドサービス",
        }
    }
}

impl FromStr for OutsideKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = mamori_core::text::fold(s);
        OutsideKind::ALL
            .into_iter()
            .find(|k| key == k.code() || key == mamori_core::text::fold(k.label_ja()))
            .ok_or_else(|| {
                format!(
                    "外部の種別「{s}」は認識できません（internet / security_cloud / gov_cloud / cloud_service）"
                )
            })
    }
}

/// Where traffic starts or ends, as the rules see it: one of the three zones or a kind of
/// outside place. Written `"lgwan"` or `"outside:security_cloud"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// Inside one of the organisation's zones.
    Zone(Zone),
    /// Outside the organisation.
    Outside(OutsideKind),
}

impl Place {
    /// Every place, zones first; its position is the bit used in [`PlaceSet`].
    pub const ALL: [Place; 7] = [
        Place::Zone(Zone::MyNumber),
        Place::Zone(Zone::Lgwan),
        Place::Zone(Zone::Internet),
        Place::Outside(OutsideKind::Internet),
        Place::Outside(OutsideKind::SecurityCloud),
        Place::Outside(OutsideKind::GovCloud),
        Place::Outside(OutsideKind::CloudService),
    ];

    /// Japanese label.
    pub fn label_ja(self) -> String {
        match self {
            Place::Zone(z) => z.label_ja().to_owned(),
            Place::Outside(k) => format!("外部（{}）", k.label_ja()),
        }
    }

    fn bit(self) -> u8 {
        let pos = Place::ALL.iter().position(|p| *p == self).unwrap_or(0);
        1u8 << pos
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Zone(z) => f.write_str(z.code()),
            Place::Outside(k) => write!(f, "outside:{}", k.code()),
        }
    }
}

impl FromStr for Place {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Some(kind) = t.strip_prefix("outside:") {
            return kind.parse().map(Place::Outside);
        }
        t.parse::<Zone>().map(Place::Zone).map_err(|_| {
            format!(
                "場所「{s}」は認識できません（mynumber / lgwan / internet / outside:internet / outside:security_cloud / outside:gov_cloud / outside:cloud_service）"
            )
        })
    }
}
string_serde!(Place);

/// A small set of [`Place`]s, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlaceSet(u8);

impl PlaceSet {
    /// The empty set.
    pub const EMPTY: PlaceSet = PlaceSet(0);

    /// Adds a place.
    pub fn insert(&mut self, p: Place) {
        self.0 |= p.bit();
    }

    /// Whether the place is in the set.
    pub fn contains(self, p: Place) -> bool {
        self.0 & p.bit() != 0
    }

    /// Union of two sets.
    pub fn union(self, other: PlaceSet) -> PlaceSet {
        PlaceSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The places in the set, in [`Place::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Place> {
        Place::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Place> for PlaceSet {
    fn from_iter<I: IntoIterator<Item = Place>>(iter: I) -> Self {
        let mut set = PlaceSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// An address range in exactly one zone (e.g. 「事務局 LGWAN 端末」 10.20.1.0/24).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Unique name.
    pub name: String,
    /// Its zone.
    #[serde(with = "zone_serde")]
    pub zone: Zone,
    /// Address range (IPv4 or IPv6).
    #[serde(with = "addr_serde::one_net")]
    pub cidr: IpNet,
    /// Building or body (事務局, 消防本部, 慈生園 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What a host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostKind {
    /// A staff terminal (端末).
    Terminal,
    /// A server.
    Server,
    /// A switch, router, firewall, …
    NetworkDevice,
    /// A host that is itself a gateway appliance (its bridging is described in `[[gateway]]`).
    Gateway,
}

impl HostKind {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            HostKind::Terminal => "端末",
            HostKind::Server => "サーバ",
            HostKind::NetworkDevice => "ネットワーク機器",
            HostKind::Gateway => "ゲートウェイ",
        }
    }
}

/// A security control a terminal may have (§6(3)①, β/β' extra controls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Multi-factor authentication (多要素認証).
    Mfa,
    /// Data take-out disabled (情報持ち出し不可設定).
    TakeOutBlocked,
    /// Only registered USB media recognised (USB 制御).
    UsbControl,
    /// Endpoint detection and response.
    Edr,
    /// Logs collected and monitored (ログ監視).
    LogMonitoring,
}

impl Control {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Control::Mfa => "多要素認証",
            Control::TakeOutBlocked => "情報持ち出し不可設定",
            Control::UsbControl => "USB制御（登録媒体のみ）",
            Control::Edr => "EDR",
            Control::LogMonitoring => "ログ監視",
        }
    }
}

/// A terminal, server or network device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Unique name.
    pub name: String,
    /// Terminal, server, network device or gateway appliance.
    pub kind: HostKind,
    /// The zone it is meant to be in.
    #[serde(with = "zone_serde")]
    pub zone: Zone,
    /// Its addresses.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "addr_serde::addrs"
    )]
    pub addresses: Vec<IpAddr>,
    /// Asset number in the 情報資産管理台帳, when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Building or body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Multi-factor method (e.g. `biometric`, `ic_card`); absent or `none` means no MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<String>,
    /// 情報持ち出し不可設定 is in force.
    #[serde(default, skip_serializing_if = "is_false")]
    pub take_out_blocked: bool,
    /// Only registered USB media are recognised.
    #[serde(default, skip_serializing_if = "is_false")]
    pub usb_control: bool,
    /// EDR installed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub edr: bool,
    /// Logs collected and monitored.
    #[serde(default, skip_serializing_if = "is_false")]
    pub log_monitoring: bool,
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Host {
    /// Whether the host has the control.
    pub fn has(&self, control: Control) -> bool {
        match control {
            Control::Mfa => self.mfa.as_deref().is_some_and(|m| {
                let m = mamori_core::text::fold(m);
                !m.is_empty() && m != "none" && m != "なし"
            }),
            Control::TakeOutBlocked => self.take_out_blocked,
            Control::UsbControl => self.usb_control,
            Control::Edr => self.edr,
            Control::LogMonitoring => self.log_monitoring,
        }
    }
}

/// What a gateway does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    /// メール無害化: mail converted to text, attachments removed or sanitised.
    MailSanitizer,
    /// ファイル無害化: files disarmed and rebuilt.
    FileSanitizer,
    /// 画面転送: web and internet work by screen transfer.
    ScreenTransfer,
    /// The prefecture's 自治体情報セキュリティクラウド.
    SecurityCloud,
    /// LGWAN-ASP connection.
    LgwanAsp,
}

impl GatewayKind {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            GatewayKind::MailSanitizer => "メール無害化",
            GatewayKind::FileSanitizer => "ファイル無害化",
            GatewayKind::ScreenTransfer => "画面転送",
            GatewayKind::SecurityCloud => "自治体情報セキュリティクラウド",
            GatewayKind::LgwanAsp => "LGWAN-ASP",
        }
    }
}

/// A gateway bridging two (or more) places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Unique name.
    pub name: String,
    /// What it does.
    pub kind: GatewayKind,
    /// The places it sits between (e.g. `["lgwan", "internet"]`).
    pub between: Vec<Place>,
    /// Its addresses (on every side).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "addr_serde::addrs"
    )]
    pub addresses: Vec<IpAddr>,
    /// Building or provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Gateway {
    /// Whether the gateway sits on `place`. A gateway towards the internet also reaches cloud
    /// services, which live on the internet.
    pub fn bridges(&self, place: Place) -> bool {
        self.between.iter().any(|b| {
            *b == place
                || (*b == Place::Outside(OutsideKind::Internet)
                    && place == Place::Outside(OutsideKind::CloudService))
        })
    }
}

/// A place outside the zones, named so flows can point at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutsidePlace {
    /// Unique name.
    pub name: String,
    /// What it is.
    pub kind: OutsideKind,
    /// Its addresses, so firewall rules can be resolved to it.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "addr_serde::nets"
    )]
    pub cidrs: Vec<IpNet>,
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One end of a flow. Written `"host:NAME"`, `"segment:NAME"`, `"outside:NAME"`, `"zone:lgwan"`,
/// a zone name, or a bare element name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A whole zone.
    Zone(Zone),
    /// A host, by name.
    Host(String),
    /// A segment, by name.
    Segment(String),
    /// An outside place by name, or `internet` for the internet at large.
    Outside(String),
    /// Any element by its (unique) name.
    Name(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Zone(z) => write!(f, "zone:{}", z.code()),
            Endpoint::Host(n) => write!(f, "host:{n}"),
            Endpoint::Segment(n) => write!(f, "segment:{n}"),
            Endpoint::Outside(n) => write!(f, "outside:{n}"),
            Endpoint::Name(n) => f.write_str(n),
        }
    }
}

impl FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err("通信の端点が空です".to_owned());
        }
        let named = |n: &str, make: fn(String) -> Endpoint| {
            let n = n.trim();
            if n.is_empty() {
                Err(format!("端点「{s}」の名前が空です"))
            } else {
                Ok(make(n.to_owned()))
            }
        };
        if let Some(z) = t.strip_prefix("zone:") {
            return z.parse().map(Endpoint::Zone).map_err(|e| e.to_string());
        }
        if let Some(n) = t.strip_prefix("host:") {
            return named(n, Endpoint::Host);
        }
        if let Some(n) = t.strip_prefix("segment:") {
            return named(n, Endpoint::Segment);
        }
        if let Some(n) = t.strip_prefix("outside:") {
            return named(n, Endpoint::Outside);
        }
        // Bare 「internet」 is the internet at large; the zone is written `zone:internet` or
        // インターネット接続系, so a flow to "the internet" cannot silently mean the zone.
        if crate::index::INTERNET_NAMES
            .iter()
            .any(|n| t.eq_ignore_ascii_case(n))
        {
            return Ok(Endpoint::Outside(t.to_owned()));
        }
        if let Ok(z) = t.parse::<Zone>() {
            return Ok(Endpoint::Zone(z));
        }
        Ok(Endpoint::Name(t.to_owned()))
    }
}
string_serde!(Endpoint);

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Any protocol.
    Any,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (v4 or v6).
    Icmp,
}

impl Protocol {
    /// Whether `self` includes every packet of `other`.
    pub fn covers(self, other: Protocol) -> bool {
        self == Protocol::Any || self == other
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port (inclusive).
    pub last: u16,
}

impl PortRange {
    /// Number of ports in the range.
    pub fn len(self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    /// Always false: a range holds at least one port.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Destination ports: any, or a list of ranges. Written `"any"` or `"25,443,8000-8080"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Ports {
    /// Every port.
    #[default]
    Any,
    /// Only these.
    List(Vec<PortRange>),
}

impl Ports {
    /// Whether `self` includes every port of `other`.
    pub fn covers(&self, other: &Ports) -> bool {
        match (self, other) {
            (Ports::Any, _) => true,
            (Ports::List(_), Ports::Any) => false,
            (Ports::List(mine), Ports::List(theirs)) => theirs
                .iter()
                .all(|t| mine.iter().any(|m| m.first <= t.first && t.last <= m.last)),
        }
    }

    /// Number of ports, `None` for any.
    pub fn count(&self) -> Option<u32> {
        match self {
            Ports::Any => None,
            Ports::List(l) => Some(l.iter().map(|r| r.len()).sum()),
        }
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ports::Any => f.write_str("any"),
            Ports::List(list) => {
                for (i, r) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if r.first == r.last {
                        write!(f, "{}", r.first)?;
                    } else {
                        write!(f, "{}-{}", r.first, r.last)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Ports {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("any") || t == "*" {
            return Ok(Ports::Any);
        }
        let mut list = Vec::new();
        for part in t.split([',', ' ']).filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once(['-', ':']).unwrap_or((part, part));
            let parse = |x: &str| {
                x.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("ポート「{part}」は 1〜65535 の番号ではありません"))
            };
            let (first, last) = (parse(a)?, parse(b)?);
            if first > last {
                return Err(format!(
                    "ポート範囲「{part}」の始まりが終わりより大きいです"
                ));
            }
            list.push(PortRange { first, last });
        }
        if list.is_empty() {
            return Err("ポートが空です（any または 443,8000-8080 の形）".to_owned());
        }
        list.sort();
        list.dedup();
        Ok(Ports::List(list))
    }
}

impl Serialize for Ports {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ports {
    /// Accepts `443`, `"443,8443"`, `"any"` or `[25, "8000-8080"]`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum One {
            Num(i64),
            Text(String),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(One),
            Many(Vec<One>),
        }
        let text = |o: One| match o {
            One::Num(n) => n.to_string(),
            One::Text(t) => t,
        };
        let joined = match Raw::deserialize(d)? {
            Raw::One(o) => text(o),
            Raw::Many(v) => v.into_iter().map(text).collect::<Vec<_>>().join(","),
        };
        joined.parse().map_err(serde::de::Error::custom)
    }
}

/// A registered communication between two endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Name shown in reports; a name is made up from the endpoints when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Source.
    pub from: Endpoint,
    /// Destination.
    pub to: Endpoint,
    /// Protocol.
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// Destination ports.
    #[serde(default)]
    pub ports: Ports,
    /// Business purpose (業務上の必要性).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Gateway the flow passes through, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Approval reference (承認番号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Exception reference (例外措置), which stands in for an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Free description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn default_protocol() -> Protocol {
    Protocol::Any
}

impl Flow {
    /// The name reports use: the given one, or one made from the flow's content (so it does not
    /// depend on the flow's position in the file).
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => format!(
                "{} → {} ({}/{})",
                self.from,
                self.to,
                serde_plain_protocol(self.protocol),
                self.ports
            ),
        }
    }

    /// Whether an approval or exception reference is recorded.
    pub fn has_approval(&self) -> bool {
        let filled = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
        filled(&self.approval) || filled(&self.exception)
    }

    /// Whether a purpose is recorded.
    pub fn has_purpose(&self) -> bool {
        self.purpose
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
    }
}

/// The code of a protocol, as written in files.
pub fn serde_plain_protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Any => "any",
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Icmp => "icmp",
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn ports_parse_and_print() {
        let p: Ports = "8443, 443,8000-8080".parse().unwrap();
        assert_eq!(p.to_string(), "443,8000-8080,8443");
        assert_eq!(p.count(), Some(83));
        assert!("0".parse::<Ports>().is_err());
        assert!("70000".parse::<Ports>().is_err());
        assert!("90-80".parse::<Ports>().is_err());
        assert!(Ports::Any.covers(&p));
        assert!(!p.covers(&Ports::Any));
        assert!(p.covers(&"8001-8002".parse().unwrap()));
    }

    #[test]
    fn endpoints_and_places_parse() {
        assert_eq!(
            "LGWAN接続系".parse::<Endpoint>().unwrap(),
            Endpoint::Zone(Zone::Lgwan)
        );
        assert_eq!(
            "host:住基端末".parse::<Endpoint>().unwrap(),
            Endpoint::Host("住基端末".into())
        );
        assert_eq!(
            "outside:security_cloud".parse::<Place>().unwrap(),
            Place::Outside(OutsideKind::SecurityCloud)
        );
        assert!("dmz".parse::<Place>().is_err());
        assert_eq!(
            "α'".parse::<NetworkModel>().unwrap(),
            NetworkModel::AlphaPrime
        );
        assert_eq!(
            "βモデル".parse::<NetworkModel>().unwrap(),
            NetworkModel::Beta
        );
    }
}
