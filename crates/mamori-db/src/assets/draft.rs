//! An asset as text — typed into a form, sent to the API, or read from a row of an import
//! file — and its reading into an [`AssetInput`]: every field checked, every problem reported
//! against its field in Japanese. The web forms, the API, the demo register and the Excel/CSV
//! import ([`super::io`]) all read assets through [`AssetDraft`], so they accept the same
//! spellings (「自治体機密性3B」「機密性２」, 有/無, 全角数字, 和暦).

use super::{Asset, AssetInput, FieldProblem};
use crate::org::UnitTree;
use mamori_core::asset::{
    AssetKind, Classes, Confidentiality, Grade, Medium, PersonalData, Restrictions, Scheme,
};
use mamori_core::calendar::parse_date;
use mamori_core::text;
use mamori_core::zone::Zone;
use serde::{Deserialize, Serialize};

/// The fields of an asset as text, the way a form posts them. The API accepts the same names
/// in JSON (numbers and booleans are accepted where they make sense).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AssetDraft {
    /// 資産番号.
    pub asset_no: String,
    /// 名称.
    pub name: String,
    /// 業務名.
    pub business: String,
    /// 種別: code (`system`, `info_electronic` …) or Japanese name.
    pub kind: String,
    /// 所管課: unit id or unit code.
    #[serde(deserialize_with = "text_or_number")]
    pub unit: String,
    /// 管理者: person id or login; empty for none.
    #[serde(deserialize_with = "text_or_number")]
    pub manager: String,
    /// 媒体: code or Japanese name.
    pub medium: String,
    /// 保存場所.
    pub location: String,
    /// 保存場所が施錠できる: `1`/`on`/`true`.
    #[serde(deserialize_with = "text_or_number")]
    pub lockable: String,
    /// ネットワーク区分: code or name; empty for none (paper).
    pub zone: String,
    /// 機密性: 「3B」「自治体機密性3B」「機密性2」 ….
    #[serde(deserialize_with = "text_or_number")]
    pub confidentiality: String,
    /// 完全性: 1 or 2.
    #[serde(deserialize_with = "text_or_number")]
    pub integrity: String,
    /// 可用性: 1 or 2.
    #[serde(deserialize_with = "text_or_number")]
    pub availability: String,
    /// 個人情報の有無.
    #[serde(deserialize_with = "text_or_number")]
    pub personal: String,
    /// 件数.
    #[serde(deserialize_with = "text_or_number")]
    pub personal_count: String,
    /// 要配慮個人情報.
    #[serde(deserialize_with = "text_or_number")]
    pub sensitive: String,
    /// 特定個人情報.
    #[serde(deserialize_with = "text_or_number")]
    pub my_number: String,
    /// 利用者範囲.
    pub users_scope: String,
    /// 取扱制限: names or codes separated by ・ or commas.
    #[serde(deserialize_with = "text_or_list")]
    pub restrictions: String,
    /// 保存期間.
    pub retention: String,
    /// バックアップ.
    pub backup: String,
    /// 委託先・クラウド.
    pub contractor: String,
    /// 例外措置の承認番号.
    pub exception_ref: String,
    /// 最終確認日 (2026-04-01, 令和8年4月1日 …).
    pub last_reviewed: String,
    /// 備考.
    pub note: String,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "文字列か数値を指定してください（{other}）"
            )));
        }
    })
}

fn text_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => {
            return Err(serde::de::Error::custom(format!(
                "文字列か文字列の配列を指定してください（{other}）"
            )));
        }
    })
}

/// A yes/no field: empty is no; besides on/off, every spelling a register uses (有/無, ○/×,
/// はい/いいえ, 該当/非該当, 1/0 …) is accepted.
fn flag(s: &str) -> Option<bool> {
    match text::fold(s).as_str() {
        "" | "off" => Some(false),
        "on" => Some(true),
        _ => mamori_tabular::parse_yes_no(s),
    }
}

/// How a draft's 所管課 and 管理者 are found: the text as written (trimmed) to an id, or the
/// reason it names nothing usable. A blank 管理者 means none and is not passed to `manager`.
pub struct Resolvers<'a> {
    /// 所管課 (blank included: the resolver says what to write).
    pub unit: &'a dyn Fn(&str) -> Result<i64, String>,
    /// 管理者.
    pub manager: &'a dyn Fn(&str) -> Result<i64, String>,
}

impl AssetDraft {
    /// The draft of a stored asset (to fill an edit form).
    pub fn from_asset(a: &Asset, tree: &UnitTree) -> AssetDraft {
        AssetDraft {
            asset_no: a.asset_no.clone(),
            name: a.name.clone(),
            business: a.business.clone(),
            kind: a.kind.clone(),
            unit: tree
                .get(a.unit_id)
                .map(|u| u.id.to_string())
                .unwrap_or_default(),
            manager: a.manager_id.map(|m| m.to_string()).unwrap_or_default(),
            medium: a.medium.clone(),
            location: a.location.clone(),
            lockable: if a.lockable != 0 { "1" } else { "" }.to_owned(),
            zone: a.zone.clone().unwrap_or_default(),
            confidentiality: a.confidentiality.clone(),
            integrity: a.integrity.to_string(),
            availability: a.availability.to_string(),
            personal: if a.personal != 0 { "1" } else { "" }.to_owned(),
            personal_count: a.personal_count.map(|c| c.to_string()).unwrap_or_default(),
            sensitive: if a.sensitive != 0 { "1" } else { "" }.to_owned(),
            my_number: if a.my_number != 0 { "1" } else { "" }.to_owned(),
            users_scope: a.users_scope.clone(),
            restrictions: a.restrictions.clone(),
            retention: a.retention.clone(),
            backup: a.backup.clone(),
            contractor: a.contractor.clone(),
            exception_ref: a.exception_ref.clone(),
            last_reviewed: a.last_reviewed.clone().unwrap_or_default(),
            note: a.note.clone(),
        }
    }

    /// Reads the draft as a form or the API sends it: 所管課 is a unit id or code, 管理者 a person
    /// id or a login that `managers` resolves; `scheme` is the organisation's. Every problem is
    /// returned, each against its field.
    pub fn read(
        &self,
        tree: &UnitTree,
        scheme: Scheme,
        managers: &dyn Fn(&str) -> Option<i64>,
    ) -> Result<AssetInput, Vec<FieldProblem>> {
        let unit = |written: &str| {
            let folded = text::fold(written);
            folded
                .parse::<i64>()
                .ok()
                .and_then(|id| tree.get(id))
                .or_else(|| tree.by_code(written))
                .map(|u| u.id)
                .ok_or_else(|| {
                    if folded.is_empty() {
                        "所管課を選んでください".to_owned()
                    } else {
                        format!("所管課「{written}」が見つかりません")
                    }
                })
        };
        let manager = |written: &str| {
            text::fold(written)
                .parse::<i64>()
                .ok()
                .or_else(|| managers(written))
                .ok_or_else(|| format!("管理者「{written}」が見つかりません"))
        };
        self.read_with(
            scheme,
            &Resolvers {
                unit: &unit,
                manager: &manager,
            },
        )
    }

    /// Reads the draft, finding 所管課 and 管理者 through `resolve` (an import accepts unit
    /// names and 氏名 where a form takes ids). Every problem is returned, each against its field.
    pub fn read_with(
        &self,
        scheme: Scheme,
        resolve: &Resolvers<'_>,
    ) -> Result<AssetInput, Vec<FieldProblem>> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        let kind = AssetKind::parse(&self.kind);
        if kind.is_none() {
            problems.push((
                "kind",
                if self.kind.trim().is_empty() {
                    "種別を選んでください".to_owned()
                } else {
                    format!("種別「{}」は認識できません", self.kind)
                },
            ));
        }
        let unit = match (resolve.unit)(self.unit.trim()) {
            Ok(id) => Some(id),
            Err(reason) => {
                problems.push(("unit_id", reason));
                None
            }
        };
        let manager_text = self.manager.trim();
        let manager = if manager_text.is_empty() {
            None
        } else {
            match (resolve.manager)(manager_text) {
                Ok(id) => Some(id),
                Err(reason) => {
                    problems.push(("manager_id", reason));
                    None
                }
            }
        };
        let medium = if self.medium.trim().is_empty() {
            kind.map(default_medium)
        } else {
            Medium::parse(&self.medium)
        };
        if medium.is_none() {
            problems.push(("medium", format!("媒体「{}」は認識できません", self.medium)));
        }
        let zone = if self.zone.trim().is_empty() || text::fold(&self.zone) == "none" {
            None
        } else {
            match self.zone.parse::<Zone>() {
                Ok(z) => Some(z),
                Err(e) => {
                    problems.push(("zone", e.to_string()));
                    None
                }
            }
        };
        let conf = match Confidentiality::parse(&self.confidentiality, scheme) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(("confidentiality", e.to_string()));
                None
            }
        };
        let grade = |v: &str, key: &'static str, what: &'static str, p: &mut Vec<FieldProblem>| {
            match Grade::parse(v, what) {
                Ok(g) => Some(g),
                Err(e) => {
                    p.push((key, e.to_string()));
                    None
                }
            }
        };
        let integrity = grade(&self.integrity, "integrity", "完全性", &mut problems);
        let availability = grade(&self.availability, "availability", "可用性", &mut problems);
        let mut flags = [false; 4];
        for (i, (key, label, value)) in [
            ("lockable", "施錠", &self.lockable),
            ("personal", "個人情報", &self.personal),
            ("sensitive", "要配慮個人情報", &self.sensitive),
            ("my_number", "特定個人情報", &self.my_number),
        ]
        .into_iter()
        .enumerate()
        {
            match flag(value) {
                Some(b) => {
                    if let Some(f) = flags.get_mut(i) {
                        *f = b;
                    }
                }
                None => problems.push((key, format!("{label}は「有」か「無」で指定してください"))),
            }
        }
        let [lockable, personal, sensitive, my_number] = flags;
        let count_text = self.personal_count.trim();
        let count = if count_text.is_empty() {
            None
        } else {
            let folded: String = text::fold(count_text)
                .trim_end_matches(['件', '人', '名'])
                .chars()
                .filter(|c| *c != ',')
                .collect();
            match folded.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    problems.push((
                        "personal_count",
                        format!("件数「{count_text}」は0以上の数で入力してください"),
                    ));
                    None
                }
            }
        };
        let restrictions = match Restrictions::parse(&self.restrictions) {
            Ok(r) => r,
            Err(unknown) => {
                problems.push((
                    "restrictions",
                    format!(
                        "取扱制限「{unknown}」は認識できません（{}）",
                        mamori_core::asset::Restriction::ALL
                            .iter()
                            .map(|r| r.label_ja())
                            .collect::<Vec<_>>()
                            .join("・")
                    ),
                ));
                Restrictions::default()
            }
        };
        let last_reviewed = if self.last_reviewed.trim().is_empty() {
            None
        } else {
            match parse_date(self.last_reviewed.trim()) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(("last_reviewed", e.to_string()));
                    None
                }
            }
        };
        let (
            Some(kind),
            Some(unit_id),
            Some(medium),
            Some(conf),
            Some(integrity),
            Some(availability),
        ) = (kind, unit, medium, conf, integrity, availability)
        else {
            return Err(problems);
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AssetInput {
            asset_no: text::normalize(&self.asset_no),
            name: self.name.trim().to_owned(),
            business: self.business.trim().to_owned(),
            kind,
            unit_id,
            manager_id: manager,
            medium,
            location: self.location.trim().to_owned(),
            lockable,
            zone,
            classes: Classes {
                confidentiality: conf,
                integrity,
                availability,
            },
            personal: PersonalData {
                present: personal,
                count,
                sensitive,
                my_number,
            },
            users_scope: self.users_scope.trim().to_owned(),
            restrictions,
            retention: self.retention.trim().to_owned(),
            backup: self.backup.trim().to_owned(),
            contractor: self.contractor.trim().to_owned(),
            exception_ref: self.exception_ref.trim().to_owned(),
            last_reviewed,
            note: self.note.trim().to_owned(),
        })
    }
}

/// The usual medium of a kind, when the register leaves it blank.
pub fn default_medium(kind: AssetKind) -> Medium {
    match kind {
        AssetKind::InformationPrinted => Medium::Paper,
        AssetKind::Medium => Medium::Removable,
        AssetKind::InformationElectronic | AssetKind::SystemDocument => Medium::File,
        AssetKind::Network | AssetKind::System | AssetKind::Equipment => Medium::System,
    }
}
