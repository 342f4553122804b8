//! The three network zones of 基本方針 §2(8)–(10) and §6(3), and the places outside them.
//!
//! Shared by the asset register (ネットワーク区分) and the separation checker, so a zone is
//! spelled one way everywhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the three zones an organisation's systems live in (§2(8)–(10)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// マイナンバー利用事務系 (個人番号利用事務系), §2(8).
    MyNumber,
    /// LGWAN接続系, §2(9).
    Lgwan,
    /// インターネット接続系, §2(10).
    Internet,
}

impl Zone {
    /// Every zone, in the policy's order.
    pub const ALL: [Zone; 3] = [Zone::MyNumber, Zone::Lgwan, Zone::Internet];

    /// The stable code used in files, URLs and the database.
    pub fn code(self) -> &'static str {
        match self {
            Zone::MyNumber => "mynumber",
            Zone::Lgwan => "lgwan",
            Zone::Internet => "internet",
        }
    }

    /// The policy's own name of the zone.
    pub fn label_ja(self) -> &'static str {
        match self {
            Zone::MyNumber => "マイナンバー利用事務系",
            Zone::Lgwan => "LGWAN接続系",
            Zone::Internet => "インターネット接続系",
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ja())
    }
}

/// A zone name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ネットワーク区分「{0}」は認識できません（マイナンバー利用事務系 / LGWAN接続系 / インターネット接続系）"
)]
pub struct UnknownZone(pub String);

impl FromStr for Zone {
    type Err = UnknownZone;

    /// Accepts the code, the policy's name, and the short forms staff write in registers
    /// (「マイナンバー系」「個人番号利用事務系」「LGWAN系」「インターネット系」), ignoring width and spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = crate::text::fold(s);
        let zone = match key.as_str() {
            "mynumber"
            | "マイナンバー利用事務系"
            | "マイナンバー系"
            | "個人番号利用事務系"
            | "マイナンバー" => Zone::MyNumber,
            "lgwan" | "lgwan接続系" | "lgwan系" => Zone::Lgwan,
            "internet" | "インターネット接続系" | "インターネット系" | "インターネット" => {
                Zone::Internet
            }
            _ => return Err(UnknownZone(s.to_owned())),
        };
        Ok(zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_round_trips_through_code_and_label() {
        for zone in Zone::ALL {
            assert_eq!(zone.code().parse::<Zone>(), Ok(zone));
            assert_eq!(zone.label_ja().parse::<Zone>(), Ok(zone));
        }
    }

    #[test]
    fn full_width_and_short_forms_are_accepted() {
        assert_eq!("ＬＧＷＡＮ接続系".parse::<Zone>(), Ok(Zone::Lgwan));
        assert_eq!(" マイナンバー系 ".parse::<Zone>(), Ok(Zone::MyNumber));
        assert!("DMZ".parse::<Zone>().is_err());
    }
}
