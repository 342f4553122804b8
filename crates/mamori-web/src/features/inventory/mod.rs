//! 情報資産管理台帳 (基本方針 §4(2), §6(2)): the register's pages — list with filters, the
//! 要対応 view, an asset's page (classes in force and where they come from, handling
//! requirements, rule findings, relations, take-outs, disposal, history), create and edit
//! forms, bulk reassignment, and the register's settings.
//!
//! Reading needs [`can::ViewAssets`] over the asset's unit (職員 their own unit, 管理者 theirs,
//! 責任者 their body, CISO/統括/監査人 everything); changing needs [`can::EditAssets`] over it.
//! The JSON API is in [`api`].

pub mod api;
pub mod form;
pub mod io;

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::asset::{self, Confidentiality, Restriction, Scheme, Severity};
use mamori_core::calendar::{format_iso, parse_date, today_jst};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, Permission, can};
use mamori_core::role::Role;
use mamori_core::zone::Zone;
use mamori_db::AnyConnection;
use mamori_db::assets::{
    self, Asset, AssetError, AssetFilter, AssetInput, AssetSort, DisposalInput, FieldProblem,
    TakeOutInput,
};
use serde::Deserialize;

use self::form::{AssetDraft, field_label};
use crate::session::{CsrfForm, Viewer};
use crate::views::{Layout, date_ja, datetime_ja, page};
use crate::{AppError, AppState, upload};

/// Rows per page of the list.
const PAGE_SIZE: i64 = 50;

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inventory", get(list).post(create))
        .route("/inventory/new", get(new_form))
        .route("/inventory/todo", get(todo))
        .route("/inventory/bulk", get(bulk_page))
        .route("/inventory/bulk/reassign", post(bulk_reassign))
        .route("/inventory/bulk/move", post(bulk_move))
        .route(
            "/inventory/settings",
            get(settings_page).post(save_settings),
        )
        .route("/inventory/{id}", get(detail).post(update))
        .route("/inventory/{id}/edit", get(edit_form))
        .route("/inventory/{id}/review", post(review))
        .route("/inventory/{id}/triage", post(triage))
        .route("/inventory/{id}/holdings", post(holdings))
        .route("/inventory/{id}/take-outs", post(take_out))
        .route(
            "/inventory/{id}/take-outs/{tid}/return",
            post(take_out_return),
        )
        .route("/inventory/{id}/dispose", post(dispose))
        .route("/inventory/{id}/certificates/{cid}", get(certificate))
        .merge(io::router())
}

/// Turns a refused change into the error to answer with (the message names every field).
pub fn asset_error(e: AssetError) -> AppError {
    match e {
        AssetError::Invalid(problems) => AppError::Unprocessable(problems_text(&problems)),
        AssetError::Rules(findings) => AppError::Unprocessable(format!(
            "取扱いルールに違反するため保存できません：{}",
            findings
                .iter()
                .map(|f| format!("［{}］{}（{}）", f.rule.id, f.rule.message, f.detail))
                .collect::<Vec<_>>()
                .join("　")
        )),
        AssetError::Stale | AssetError::Disposed => AppError::Conflict(e.to_string()),
        AssetError::Db(e) => e.into(),
    }
}

/// Runs `change` in one write transaction and commits it; a refused change is answered as
/// [`asset_error`] says and rolls back with the transaction.
pub async fn write<T>(
    state: &AppState,
    change: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, AssetError>,
) -> Result<T, AppError> {
    let mut tx = state.db.begin_write().await?;
    let out = change(&mut tx).await.map_err(asset_error)?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(out)
}

/// Problems as one line: 「資産番号: …／機密性: …」.
pub fn problems_text(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|(k, m)| format!("{}：{}", field_label(k), m))
        .collect::<Vec<_>>()
        .join("／")
}

fn level_label(code: &str, scheme: Scheme) -> String {
    Confidentiality::from_code(code)
        .map(|c| c.label_in(scheme))
        .unwrap_or_else(|| code.to_owned())
}

fn kind_label(code: &str) -> &'static str {
    asset::AssetKind::ALL
        .into_iter()
        .find(|k| k.code() == code)
        .map(asset::AssetKind::label_ja)
        .unwrap_or("")
}

fn zone_label(code: Option<&str>) -> &'static str {
    code.and_then(|z| z.parse::<Zone>().ok())
        .map(Zone::label_ja)
        .unwrap_or("—")
}

fn medium_label(code: &str) -> &'static str {
    asset::Medium::ALL
        .into_iter()
        .find(|m| m.code() == code)
        .map(asset::Medium::label_ja)
        .unwrap_or("")
}

// ------------------------------------------------------------------ list

/// The list's filters as query parameters (all text, so a blank select is simply empty).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ListQuery {
    /// 所管課 (unit id); its subunits are included.
    pub unit: String,
    /// ネットワーク区分 code, or `none`.
    pub zone: String,
    /// 機密性 code (`3A` … `1`).
    pub confidentiality: String,
    /// 完全性 (1/2).
    pub integrity: String,
    /// 可用性 (1/2).
    pub availability: String,
    /// 種別 code.
    pub kind: String,
    /// 個人情報: `any`, `sensitive`, `my_number`, `none`.
    pub personal: String,
    /// 取扱制限 code.
    pub restriction: String,
    /// `1`: review overdue only.
    pub overdue: String,
    /// `any` or a rule id: rule violations only.
    pub violations: String,
    /// `1`: awaiting re-triage only.
    pub triage: String,
    /// Substring of 名称, 業務名 or 資産番号.
    pub q: String,
    /// 管理者 (person id).
    pub manager: String,
    /// `active` (default), `disposed`, `all`.
    pub status: String,
    /// `number`, `name`, `confidentiality`, `reviewed`, `unit`, `updated`.
    pub sort: String,
    /// Page, from 1.
    pub page: String,
    /// Rows per page (API only: 1–500, default 50).
    pub per_page: String,
}

impl ListQuery {
    /// The repository filter, or a message naming the bad parameter.
    pub fn filter(&self) -> Result<(AssetFilter, AssetSort), AppError> {
        let int = |v: &str, what: &str| -> Result<Option<i64>, AppError> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                mamori_core::text::fold(v)
                    .parse()
                    .map(Some)
                    .map_err(|_| AppError::bad(format!("{what}の指定「{v}」が正しくありません")))
            }
        };
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        let sort = AssetSort::parse(self.sort.trim())
            .ok_or_else(|| AppError::bad(format!("並び順「{}」は指定できません", self.sort)))?;
        if let Some(z) = opt(&self.zone)
            && z != "none"
            && z.parse::<Zone>().is_err()
        {
            return Err(AppError::bad(format!(
                "ネットワーク区分「{z}」は指定できません"
            )));
        }
        if let Some(c) = opt(&self.confidentiality)
            && Confidentiality::from_code(&c).is_none()
        {
            return Err(AppError::bad(format!("機密性「{c}」は指定できません")));
        }
        for (v, what) in [(&self.integrity, "完全性"), (&self.availability, "可用性")] {
            if let Some(n) = int(v, what)?
                && !(1..=2).contains(&n)
            {
                return Err(AppError::bad(format!("{what}は1か2で指定してください")));
            }
        }
        if let Some(k) = opt(&self.kind)
            && asset::AssetKind::ALL.iter().all(|x| x.code() != k)
        {
            return Err(AppError::bad(format!("種別「{k}」は指定できません")));
        }
        if let Some(r) = opt(&self.restriction)
            && Restriction::ALL.iter().all(|x| x.code() != r)
        {
            return Err(AppError::bad(format!("取扱制限「{r}」は指定できません")));
        }
        if let Some(p) = opt(&self.personal)
            && !["any", "sensitive", "my_number", "none"].contains(&p.as_str())
        {
            return Err(AppError::bad(format!(
                "個人情報の指定「{p}」は指定できません"
            )));
        }
        if let Some(v) = opt(&self.violations)
            && v != "any"
            && asset::rule(&v).is_none()
        {
            return Err(AppError::bad(format!("ルール「{v}」はありません")));
        }
        if let Some(s) = opt(&self.status)
            && !["active", "disposed", "all"].contains(&s.as_str())
        {
            return Err(AppError::bad(format!("状態「{s}」は指定できません")));
        }
        let filter = AssetFilter {
            unit: int(&self.unit, "所管課")?,
            zone: opt(&self.zone),
            confidentiality: opt(&self.confidentiality),
            integrity: int(&self.integrity, "完全性")?,
            availability: int(&self.availability, "可用性")?,
            kind: opt(&self.kind),
            personal: opt(&self.personal),
            restriction: opt(&self.restriction),
            overdue: self.overdue == "1",
            violations: opt(&self.violations),
            triage: self.triage == "1",
            q: opt(&self.q),
            manager: int(&self.manager, "管理者")?,
            status: opt(&self.status),
        };
        Ok((filter, sort))
    }

    /// The query string of the filters (without page), for pager and export links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("unit", &self.unit),
            ("zone", &self.zone),
            ("confidentiality", &self.confidentiality),
            ("integrity", &self.integrity),
            ("availability", &self.availability),
            ("kind", &self.kind),
            ("personal", &self.personal),
            ("restriction", &self.restriction),
            ("overdue", &self.overdue),
            ("violations", &self.violations),
            ("triage", &self.triage),
            ("q", &self.q),
            ("manager", &self.manager),
            ("status", &self.status),
            ("sort", &self.sort),
        ];
        let present: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, v.as_str()))
            .collect();
        serde_urlencoded::to_string(present).unwrap_or_default()
    }
}

struct Row {
    id: i64,
    asset_no: String,
    name: String,
    business: String,
    kind: &'static str,
    unit: String,
    manager: String,
    zone: &'static str,
    conf: String,
    integrity: i64,
    availability: i64,
    personal: &'static str,
    reviewed: String,
    overdue: bool,
    errors: Vec<&'static str>,
    warnings: Vec<&'static str>,
    triage: bool,
    disposed: bool,
}

fn row(a: &Asset, viewer: &Viewer, settings: &assets::Settings) -> Row {
    let rules = a.stored_rules();
    Row {
        id: a.id,
        asset_no: a.asset_no.clone(),
        name: a.name.clone(),
        business: a.business.clone(),
        kind: kind_label(&a.kind),
        unit: viewer.tree.full_name(a.unit_id),
        manager: a
            .manager_name
            .clone()
            .unwrap_or_else(|| "（未設定）".into()),
        zone: zone_label(a.zone.as_deref()),
        conf: level_label(&a.confidentiality, settings.scheme),
        integrity: a.integrity,
        availability: a.availability,
        personal: if a.my_number != 0 {
            "特定"
        } else if a.sensitive != 0 {
            "要配慮"
        } else if a.personal != 0 {
            "有"
        } else {
            "無"
        },
        reviewed: a.last_reviewed.as_deref().map(date_ja).unwrap_or_default(),
        overdue: a.is_overdue(today_jst(), settings.review_interval_days),
        errors: rules
            .iter()
            .filter(|r| r.severity == Severity::Error)
            .map(|r| r.id)
            .collect(),
        warnings: rules
            .iter()
            .filter(|r| r.severity == Severity::Warning)
            .map(|r| r.id)
            .collect(),
        triage: !a.triage.is_empty(),
        disposed: a.is_disposed(),
    }
}

#[derive(Template)]
#[template(path = "inventory_list.html")]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    query: String,
    rows: Vec<Row>,
    total: i64,
    page_no: i64,
    pages: i64,
    units: Vec<(i64, String)>,
    levels: Vec<(&'static str, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    zones: Vec<(&'static str, &'static str)>,
    restrictions: Vec<(&'static str, &'static str)>,
    rules: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    can_configure: bool,
    scheme: &'static str,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewAssets>(&state).await?;
    let (filter, sort) = q.filter()?;
    let org = cap.org();
    assets::ensure_checked(&state.db, org).await?;
    let settings = assets::settings(&state.db, org).await?;
    let page_no: i64 = q.page.parse().unwrap_or(1).max(1);
    let (items, total) = assets::list(
        &state.db,
        &cap,
        &viewer.tree,
        &filter,
        sort,
        (page_no - 1).saturating_mul(PAGE_SIZE),
        PAGE_SIZE,
    )
    .await?;
    let rows = items.iter().map(|a| row(a, &viewer, &settings)).collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    page(&ListPage {
        layout: Layout::new(&viewer, "情報資産管理台帳", "/inventory").with_notice(notice.text()),
        query: q.query_string(),
        q,
        rows,
        total,
        page_no,
        pages,
        units: reachable_units(&viewer, &cap),
        levels: settings
            .scheme
            .levels()
            .iter()
            .map(|l| (l.code(), l.label_in(settings.scheme)))
            .collect(),
        kinds: asset::AssetKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_ja()))
            .collect(),
        zones: Zone::ALL.iter().map(|z| (z.code(), z.label_ja())).collect(),
        restrictions: Restriction::ALL
            .iter()
            .map(|r| (r.code(), r.label_ja()))
            .collect(),
        rules: asset::RULES
            .iter()
            .filter(|r| r.id != asset::A006.id)
            .map(|r| (r.id, r.title))
            .collect(),
        can_edit: viewer.actor.can::<can::EditAssets>().is_ok(),
        can_configure: viewer.actor.can::<can::ConfigureAssets>().is_ok(),
        scheme: settings.scheme.label_ja(),
    })
}

/// Units a capability reaches, as (id, 「コード 名称」), in tree order.
fn reachable_units<P: Permission>(viewer: &Viewer, cap: &Capability<P>) -> Vec<(i64, String)> {
    let reach: HashSet<i64> = viewer.tree.reachable(cap.reach()).into_iter().collect();
    viewer
        .tree
        .units()
        .iter()
        .filter(|u| reach.contains(&u.id) && u.active != 0)
        .map(|u| (u.id, format!("{} {}", u.code, viewer.tree.full_name(u.id))))
        .collect()
}

// ------------------------------------------------------------------ 要対応

struct TodoUnit {
    unit_id: i64,
    unit: String,
    assets: i64,
    errors: i64,
    violations: i64,
    overdue: i64,
    triage: i64,
}

#[derive(Template)]
#[template(path = "inventory_todo.html")]
struct TodoPage {
    layout: Layout,
    units: Vec<TodoUnit>,
    rows: Vec<Row>,
    total: i64,
    interval: i64,
}

async fn todo(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewAssets>(&state).await?;
    assets::ensure_checked(&state.db, cap.org()).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    let counts = assets::todo_counts(&state.db, &cap, &viewer.tree).await?;
    let units = counts
        .into_iter()
        .filter(|c| c.violations + c.overdue + c.triage > 0)
        .map(|c| TodoUnit {
            unit: viewer.tree.full_name(c.unit_id),
            unit_id: c.unit_id,
            assets: c.assets,
            errors: c.errors,
            violations: c.violations,
            overdue: c.overdue,
            triage: c.triage,
        })
        .collect();
    // Rule violations first, in unit order; overdue reviews are behind the per-unit links.
    let (items, total) = assets::list(
        &state.db,
        &cap,
        &viewer.tree,
        &AssetFilter {
            violations: Some("any".into()),
            ..AssetFilter::default()
        },
        AssetSort::Unit,
        0,
        500,
    )
    .await?;
    page(&TodoPage {
        layout: Layout::new(&viewer, "要対応の情報資産", "/inventory"),
        units,
        rows: items.iter().map(|a| row(a, &viewer, &settings)).collect(),
        total,
        interval: settings.review_interval_days,
    })
}

// ------------------------------------------------------------------ one asset

struct Related {
    id: i64,
    asset_no: String,
    name: String,
    kind: &'static str,
    conf: String,
}

struct FindingRow {
    id: &'static str,
    section: &'static str,
    severity: &'static str,
    error: bool,
    title: &'static str,
    message: &'static str,
    detail: String,
}

struct TakeOutRow {
    id: i64,
    person: String,
    permitted_by: String,
    purpose: String,
    destination: String,
    out_on: String,
    due_on: String,
    returned: String,
    open: bool,
}

struct HistoryRow {
    at: String,
    actor: String,
    action: &'static str,
    detail: String,
}

struct CertRow {
    id: i64,
    file_name: String,
    size: i64,
    sha256: String,
    at: String,
}

#[derive(Template)]
#[template(path = "inventory_detail.html")]
struct DetailPage {
    layout: Layout,
    a: Asset,
    kind: &'static str,
    medium: &'static str,
    zone: &'static str,
    unit: String,
    manager: String,
    conf: String,
    conf_in_force: String,
    conf_from: Option<(i64, String, String)>,
    integrity_in_force: i64,
    integrity_from: Option<(i64, String, String)>,
    availability_in_force: i64,
    availability_from: Option<(i64, String, String)>,
    restrictions: String,
    reviewed: String,
    overdue: bool,
    findings: Vec<FindingRow>,
    handling: Vec<asset::Handling>,
    holds: Vec<Related>,
    held_by: Vec<Related>,
    hidden_relations: usize,
    holder: bool,
    holds_text: String,
    take_outs: Vec<TakeOutRow>,
    certificates: Vec<CertRow>,
    history: Vec<HistoryRow>,
    triage: Vec<(&'static str, String)>,
    can_edit: bool,
    persons: Vec<(i64, String)>,
    today: String,
    disposed_on: String,
    disposed_by: String,
    /// The 例外措置 the asset cites: its id and state today.
    exception: Option<(i64, &'static str)>,
}

fn action_label(action: &str) -> &'static str {
    match action {
        "asset.create" => "登録",
        "asset.update" => "変更",
        "asset.review" => "確認",
        "asset.triage" => "分類の再判定",
        "asset.holdings" => "保存する情報の変更",
        "asset.take_out" => "持出し",
        "asset.take_out.return" => "返却",
        "asset.dispose" => "廃棄",
        "asset.reassign" => "管理者の引継ぎ",
        "asset.move" => "移管",
        "asset.import.create" => "取込み（登録）",
        "asset.import.update" => "取込み（変更）",
        _ => "その他",
    }
}

/// Describes what changed between two JSON objects, field by field.
fn change_summary(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |s: Option<&str>| {
        s.and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| v.as_object().cloned())
    };
    let (b, a) = (parse(before), parse(after));
    let Some(a) = a else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (k, v) in &a {
        let old = b.as_ref().and_then(|b| b.get(k));
        if old == Some(v) {
            continue;
        }
        let show = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "—".into(),
            other => other.to_string(),
        };
        let label = field_label(k);
        let label = if label == "入力" { k.as_str() } else { label };
        match old {
            Some(o) => parts.push(format!("{label}: {} → {}", show(o), show(v))),
            None => parts.push(format!("{label}: {}", show(v))),
        }
        if parts.len() >= 12 {
            parts.push("…".into());
            break;
        }
    }
    parts.join("、")
}

async fn visible_asset(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<(Capability<can::ViewAssets>, Asset), AppError> {
    let cap = viewer.can::<can::ViewAssets>(state).await?;
    let a = assets::get(&state.db, &cap, &viewer.tree, id).await?;
    Ok((cap, a))
}

async fn editable_asset(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
) -> Result<(Capability<can::EditAssets>, Asset), AppError> {
    // Reading first: an asset out of sight is "not found", not "forbidden".
    let (_, a) = visible_asset(state, viewer, id).await?;
    let cap = viewer.can_on::<can::EditAssets>(state, a.unit_id).await?;
    Ok((cap, a))
}

/// What a redirect after a change says on the next page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoticeQuery {
    saved: String,
    reviewed: String,
    disposed: String,
    notice: String,
    count: String,
}

impl NoticeQuery {
    fn text(&self) -> Option<String> {
        let count = self.count.parse::<i64>().unwrap_or(0);
        if self.saved == "1" {
            Some("保存しました。".into())
        } else if self.reviewed == "1" {
            Some("確認を記録しました（最終確認日を更新しました）。".into())
        } else if self.disposed == "1" {
            Some("廃棄を記録しました。この情報資産は読み取り専用になりました。".into())
        } else {
            match self.notice.as_str() {
                "reassigned" => Some(format!("{count} 件の情報資産の管理者を引き継ぎました。")),
                "moved" => Some(format!("{count} 件の情報資産を移管しました。")),
                "saved" => Some("設定を保存しました。".into()),
                "switched" => {
                    Some("分類を切り替えました。再判定が必要な資産を確認してください。".into())
                }
                _ => None,
            }
        }
    }
}

async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let (cap, a) = visible_asset(&state, &viewer, id).await?;
    let org = cap.org();
    let settings = assets::settings(&state.db, org).await?;
    let (effective, findings) = assets::assess(&state.db, &a).await?;
    let relations = assets::relations(&state.db, org, a.id).await?;
    let mut hidden = 0;
    let mut related = |list: Vec<Asset>| -> Vec<Related> {
        let mut out = Vec::new();
        for r in list {
            if cap.covers(&viewer.tree.path(r.unit_id)) {
                out.push(Related {
                    id: r.id,
                    conf: level_label(&r.confidentiality, settings.scheme),
                    asset_no: r.asset_no,
                    name: r.name,
                    kind: kind_label(&r.kind),
                });
            } else {
                hidden += 1;
            }
        }
        out
    };
    let holds_text = relations
        .holds
        .iter()
        .map(|r| r.asset_no.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let holds = related(relations.holds);
    let held_by = related(relations.held_by);
    let take_outs = assets::take_outs(&state.db, org, a.id)
        .await?
        .into_iter()
        .map(|t| TakeOutRow {
            id: t.id,
            person: t.person_name.unwrap_or_default(),
            permitted_by: t.permitted_by_name.unwrap_or_else(|| "—".into()),
            purpose: t.purpose,
            destination: t.destination,
            out_on: date_ja(&t.out_on),
            due_on: t.due_on.as_deref().map(date_ja).unwrap_or_default(),
            open: t.returned_at.is_none(),
            returned: t
                .returned_at
                .as_deref()
                .map(datetime_ja)
                .unwrap_or_default(),
        })
        .collect();
    let certificates = assets::certificates(&state.db, org, a.id)
        .await?
        .into_iter()
        .map(|c| CertRow {
            id: c.id,
            file_name: c.file_name,
            size: c.size,
            sha256: c.sha256,
            at: datetime_ja(&c.created_at),
        })
        .collect();
    let history = assets::history(&state.db, org, a.id)
        .await?
        .into_iter()
        .map(|e| HistoryRow {
            at: datetime_ja(&e.at),
            actor: e.actor.clone(),
            action: action_label(&e.action),
            detail: change_summary(e.before_json.as_deref(), e.after_json.as_deref()),
        })
        .collect();
    let can_edit = !a.is_disposed()
        && viewer
            .actor
            .can_on::<can::EditAssets>(&viewer.tree.path(a.unit_id))
            .is_ok();
    let persons = if can_edit {
        active_persons(&viewer)
    } else {
        Vec::new()
    };
    let disposed_by = match a.disposed_by {
        Some(p) => mamori_db::org::person(&state.db, org, p)
            .await
            .map(|p| p.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let exception = if a.exception_ref.trim().is_empty() {
        None
    } else {
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(mamori_db::DbError::from)?;
        mamori_db::exceptions::by_ref(&mut conn, org.0, &a.exception_ref)
            .await?
            .map(|e| (e.id, e.state_label(today_jst())))
    };
    let kind = a.kind();
    page(&DetailPage {
        layout: Layout::new(&viewer, format!("{} {}", a.asset_no, a.name), "/inventory")
            .with_notice(notice.text()),
        kind: kind_label(&a.kind),
        medium: medium_label(&a.medium),
        zone: zone_label(a.zone.as_deref()),
        unit: viewer.tree.full_name(a.unit_id),
        manager: a
            .manager_name
            .clone()
            .unwrap_or_else(|| "（未設定）".into()),
        conf: level_label(&a.confidentiality, settings.scheme),
        conf_in_force: effective.confidentiality.value.label_in(settings.scheme),
        conf_from: effective.confidentiality.from.clone(),
        integrity_in_force: effective.integrity.value.number(),
        integrity_from: effective.integrity.from.clone(),
        availability_in_force: effective.availability.value.number(),
        availability_from: effective.availability.from.clone(),
        restrictions: a.restrictions().label_ja(),
        reviewed: a
            .last_reviewed
            .as_deref()
            .map(date_ja)
            .unwrap_or_else(|| "未確認".into()),
        overdue: a.is_overdue(today_jst(), settings.review_interval_days),
        findings: findings
            .iter()
            .map(|f| FindingRow {
                id: f.rule.id,
                section: f.rule.section,
                severity: f.rule.severity.label_ja(),
                error: f.rule.severity == Severity::Error,
                title: f.rule.title,
                message: f.rule.message,
                detail: f.detail.clone(),
            })
            .collect(),
        handling: asset::handling(effective.classes()),
        holds,
        held_by,
        hidden_relations: hidden,
        holder: kind.is_some_and(asset::AssetKind::is_holder),
        holds_text,
        take_outs,
        certificates,
        history,
        triage: a
            .triage_candidates()
            .into_iter()
            .map(|c| (c.code(), c.label_in(settings.scheme)))
            .collect(),
        can_edit,
        persons,
        today: format_iso(today_jst()),
        disposed_on: a.disposed_on.as_deref().map(date_ja).unwrap_or_default(),
        disposed_by,
        exception,
        a,
    })
}

/// Active persons of the viewer's organisation, as (id, 「氏名（所属）」), for select boxes.
fn active_persons(viewer: &Viewer) -> Vec<(i64, String)> {
    viewer
        .snapshot
        .persons
        .iter()
        .filter(|p| p.status == "active")
        .map(|p| {
            let label = format!("{}（{}）", p.name, viewer.tree.full_name(p.unit_id));
            (p.id, label)
        })
        .collect()
}

// ------------------------------------------------------------------ create / edit

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "inventory_form.html")]
struct FormPage {
    layout: Layout,
    action: String,
    heading: String,
    d: AssetDraft,
    version: i64,
    problems: Vec<(String, String)>,
    units: Vec<(i64, String)>,
    managers: Vec<Choice>,
    kinds: Vec<(&'static str, &'static str)>,
    media: Vec<(&'static str, &'static str)>,
    zones: Vec<(&'static str, &'static str)>,
    levels: Vec<(&'static str, String)>,
    restrictions: Vec<(&'static str, &'static str, bool)>,
}

/// Where a form posts and what it is called.
struct FormTarget {
    action: String,
    heading: String,
}

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    cap: &Capability<can::EditAssets>,
    target: FormTarget,
    d: AssetDraft,
    version: i64,
    problems: Vec<FieldProblem>,
) -> Result<Response, AppError> {
    let FormTarget { action, heading } = target;
    let settings = assets::settings(&state.db, cap.org()).await?;
    let manager_ids: HashSet<i64> = viewer
        .snapshot
        .assignments
        .iter()
        .filter(|a| a.role == Role::SecurityManager.code())
        .map(|a| a.person_id)
        .collect();
    let mut managers: Vec<Choice> = vec![Choice {
        value: String::new(),
        label: "（未設定）".into(),
    }];
    for (id, label) in active_persons(viewer) {
        if manager_ids.contains(&id) || d.manager == id.to_string() {
            managers.push(Choice {
                value: id.to_string(),
                label,
            });
        }
    }
    let chosen: HashSet<&str> = d
        .restrictions
        .split([',', '・', '、'])
        .map(str::trim)
        .collect();
    let mut resp = page(&FormPage {
        layout: Layout::new(viewer, heading.clone(), "/inventory"),
        action,
        heading,
        version,
        problems: problems
            .iter()
            .map(|(k, m)| (field_label(k).to_owned(), m.clone()))
            .collect(),
        units: reachable_units(viewer, cap),
        managers,
        kinds: asset::AssetKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_ja()))
            .collect(),
        media: asset::Medium::ALL
            .iter()
            .map(|m| (m.code(), m.label_ja()))
            .collect(),
        zones: Zone::ALL.iter().map(|z| (z.code(), z.label_ja())).collect(),
        levels: settings
            .scheme
            .levels()
            .iter()
            .map(|l| (l.code(), l.label_in(settings.scheme)))
            .collect(),
        restrictions: Restriction::ALL
            .iter()
            .map(|r| {
                (
                    r.code(),
                    r.label_ja(),
                    chosen.contains(r.code()) || chosen.contains(r.label_ja()),
                )
            })
            .collect(),
        d,
    })?;
    if !problems.is_empty() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn new_form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let draft = AssetDraft {
        kind: asset::AssetKind::InformationElectronic.code().into(),
        confidentiality: "2".into(),
        integrity: "1".into(),
        availability: "1".into(),
        unit: viewer.person.unit_id.to_string(),
        ..AssetDraft::default()
    };
    form_page(
        &state,
        &viewer,
        &cap,
        FormTarget {
            action: "/inventory".into(),
            heading: "情報資産の登録".into(),
        },
        draft,
        0,
        Vec::new(),
    )
    .await
}

/// The form as posted: the draft plus the version and CSRF token; several checkboxes named
/// `restriction` are gathered by reading the body as pairs.
#[derive(Debug, Default)]
struct PostedForm {
    draft: AssetDraft,
    version: Option<i64>,
}

fn posted(pairs: Vec<(String, String)>) -> PostedForm {
    let mut f = PostedForm::default();
    let mut restrictions = Vec::new();
    for (k, v) in pairs {
        let d = &mut f.draft;
        match k.as_str() {
            "asset_no" => d.asset_no = v,
            "name" => d.name = v,
            "business" => d.business = v,
            "kind" => d.kind = v,
            "unit" => d.unit = v,
            "manager" => d.manager = v,
            "medium" => d.medium = v,
            "location" => d.location = v,
            "lockable" => d.lockable = v,
            "zone" => d.zone = v,
            "confidentiality" => d.confidentiality = v,
            "integrity" => d.integrity = v,
            "availability" => d.availability = v,
            "personal" => d.personal = v,
            "personal_count" => d.personal_count = v,
            "sensitive" => d.sensitive = v,
            "my_number" => d.my_number = v,
            "users_scope" => d.users_scope = v,
            "restriction" => restrictions.push(v),
            "retention" => d.retention = v,
            "backup" => d.backup = v,
            "contractor" => d.contractor = v,
            "exception_ref" => d.exception_ref = v,
            "last_reviewed" => d.last_reviewed = v,
            "note" => d.note = v,
            "version" => f.version = v.parse().ok(),
            _ => {}
        }
    }
    f.draft.restrictions = restrictions.join(",");
    f
}

/// Reads a draft into input, resolving 管理者 logins.
pub async fn read_draft(
    state: &AppState,
    viewer: &Viewer,
    org: OrgId,
    draft: &AssetDraft,
) -> Result<Result<AssetInput, Vec<FieldProblem>>, AppError> {
    let settings = assets::settings(&state.db, org).await?;
    let persons = &viewer.snapshot.persons;
    Ok(draft.read(&viewer.tree, settings.scheme, &|l| {
        persons.iter().find(|p| p.login == l).map(|p| p.id)
    }))
}

async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let f = posted(pairs);
    let retry = |problems: Vec<FieldProblem>, d: AssetDraft| {
        let (state, viewer, cap) = (&state, &viewer, &cap);
        async move {
            form_page(
                state,
                viewer,
                cap,
                FormTarget {
                    action: "/inventory".into(),
                    heading: "情報資産の登録".into(),
                },
                d,
                0,
                problems,
            )
            .await
        }
    };
    let input = match read_draft(&state, &viewer, cap.org(), &f.draft).await? {
        Ok(i) => i,
        Err(p) => return retry(p, f.draft).await,
    };
    // The unit must be within the editor's reach.
    let cap = viewer
        .can_on::<can::EditAssets>(&state, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    match assets::create(&mut tx, &cap, &viewer.audit_ctx(), &viewer.tree, &input).await {
        Ok(id) => {
            tx.commit().await.map_err(mamori_db::DbError::from)?;
            Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
        }
        Err(AssetError::Invalid(p)) => retry(p, f.draft).await,
        Err(AssetError::Rules(findings)) => retry(rule_problems(&findings), f.draft).await,
        Err(AssetError::Db(mamori_db::DbError::Duplicate(what))) => {
            retry(
                vec![("asset_no", format!("{what}は既に使われています"))],
                f.draft,
            )
            .await
        }
        Err(e) => Err(asset_error(e)),
    }
}

fn rule_problems(findings: &[asset::Finding]) -> Vec<FieldProblem> {
    findings
        .iter()
        .map(|f| {
            let key = match f.rule.id {
                "A001" | "A002" => "zone",
                "A005" => "manager_id",
                "A007" => "personal",
                _ => "note",
            };
            (
                key,
                format!("［{}］{}（{}）", f.rule.id, f.rule.message, f.detail),
            )
        })
        .collect()
}

async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (cap, a) = editable_asset(&state, &viewer, id).await?;
    if a.is_disposed() {
        return Err(asset_error(AssetError::Disposed));
    }
    let draft = AssetDraft::from_asset(&a, &viewer.tree);
    form_page(
        &state,
        &viewer,
        &cap,
        FormTarget {
            action: format!("/inventory/{id}"),
            heading: format!("{} の編集", a.asset_no),
        },
        draft,
        a.version,
        Vec::new(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (cap, a) = editable_asset(&state, &viewer, id).await?;
    let f = posted(pairs);
    let heading = format!("{} の編集", a.asset_no);
    let retry = |problems: Vec<FieldProblem>, d: AssetDraft| {
        let (state, viewer, cap, heading) = (&state, &viewer, &cap, heading.clone());
        let version = f.version.unwrap_or(a.version);
        async move {
            form_page(
                state,
                viewer,
                cap,
                FormTarget {
                    action: format!("/inventory/{id}"),
                    heading,
                },
                d,
                version,
                problems,
            )
            .await
        }
    };
    let input = match read_draft(&state, &viewer, cap.org(), &f.draft).await? {
        Ok(i) => i,
        Err(p) => return retry(p, f.draft.clone()).await,
    };
    let cap = viewer
        .can_on::<can::EditAssets>(&state, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    match assets::update(
        &mut tx,
        &cap,
        &viewer.audit_ctx(),
        &viewer.tree,
        id,
        f.version,
        &input,
    )
    .await
    {
        Ok(()) => {
            tx.commit().await.map_err(mamori_db::DbError::from)?;
            Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
        }
        Err(AssetError::Invalid(p)) => retry(p, f.draft.clone()).await,
        Err(AssetError::Rules(findings)) => retry(rule_problems(&findings), f.draft.clone()).await,
        Err(AssetError::Db(mamori_db::DbError::Duplicate(what))) => {
            retry(
                vec![("asset_no", format!("{what}は既に使われています"))],
                f.draft.clone(),
            )
            .await
        }
        Err(e) => Err(asset_error(e)),
    }
}

// ------------------------------------------------------------------ lifecycle actions

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    on: String,
}

/// A date typed in a form (和暦 accepted); empty means today.
fn form_date(text: &str, what: &str) -> Result<time::Date, AppError> {
    if text.trim().is_empty() {
        return Ok(today_jst());
    }
    parse_date(text.trim()).map_err(|e| AppError::Unprocessable(format!("{what}：{e}")))
}

async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let day = form_date(&form.on, "確認日")?;
    if day > today_jst() {
        return Err(AppError::Unprocessable(
            "確認日：未来の日付は指定できません".into(),
        ));
    }
    write(&state, async |tx: &mut AnyConnection| {
        assets::review(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, day).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?reviewed=1")).into_response())
}

#[derive(Deserialize)]
struct TriageForm {
    level: String,
}

async fn triage(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<TriageForm>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let level = Confidentiality::from_code(form.level.trim())
        .ok_or_else(|| AppError::Unprocessable(format!("機密性「{}」は選べません", form.level)))?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::settle_triage(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, level).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
}

#[derive(Deserialize)]
struct HoldingsForm {
    #[serde(default)]
    held: String,
}

/// Resolves 資産番号 (one per line, or separated by commas) to ids of assets the capability
/// can see; anything else is named as not found.
pub async fn resolve_numbers<P: Permission>(
    state: &AppState,
    cap: &Capability<P>,
    tree: &mamori_db::org::UnitTree,
    text: &str,
) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for no in text.split(['\n', ',', '、', ' ', '　', '\r', '\t']) {
        let no = mamori_core::text::normalize(no);
        if no.is_empty() {
            continue;
        }
        match assets::by_number(&state.db, cap, tree, &no).await {
            Ok(a) => ids.push(a.id),
            Err(mamori_db::DbError::NotFound) => unknown.push(no),
            Err(e) => return Err(e.into()),
        }
        if ids.len() + unknown.len() > 10_000 {
            return Err(AppError::Unprocessable(
                "一度に指定できる資産番号は10,000件までです".into(),
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "資産番号が見つかりません：{}",
            unknown.join("、")
        )));
    }
    Ok(ids)
}

async fn holdings(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<HoldingsForm>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let view = viewer.can::<can::ViewAssets>(&state).await?;
    let ids = resolve_numbers(&state, &view, &viewer.tree, &form.held).await?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::set_holdings(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &ids).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
}

#[derive(Deserialize)]
struct TakeOutForm {
    person_id: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    out_on: String,
    #[serde(default)]
    due_on: String,
}

fn take_out_input(form: &TakeOutForm) -> Result<TakeOutInput, AppError> {
    let person_id = form
        .person_id
        .trim()
        .parse()
        .map_err(|_| AppError::Unprocessable("職員：持ち出す職員を選んでください".into()))?;
    Ok(TakeOutInput {
        person_id,
        purpose: form.purpose.clone(),
        destination: form.destination.clone(),
        out_on: form_date(&form.out_on, "持出日")?,
        due_on: if form.due_on.trim().is_empty() {
            None
        } else {
            Some(form_date(&form.due_on, "返却予定日")?)
        },
    })
}

async fn take_out(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<TakeOutForm>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let input = take_out_input(&form)?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::take_out(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
}

async fn take_out_return(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, tid)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<ReviewForm>,
) -> Result<Response, AppError> {
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    write(&state, async |tx: &mut AnyConnection| {
        assets::take_out_return(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, tid).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?saved=1")).into_response())
}

async fn dispose(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let multipart = multipart.map_err(|_| {
        AppError::bad("ファイルを添付できるフォーム（multipart）で送信してください")
    })?;
    let form = upload::read(multipart, "certificate").await?;
    upload::check_csrf(&viewer, &form)?;
    let (cap, _) = editable_asset(&state, &viewer, id).await?;
    let person_id = form
        .text("person_id")
        .trim()
        .parse()
        .map_err(|_| AppError::Unprocessable("職員：廃棄した職員を選んでください".into()))?;
    let input = DisposalInput {
        on: form_date(form.text("on"), "廃棄日")?,
        person_id,
        method: form.text("method").to_owned(),
        certificate: form
            .has_file()
            .then(|| (form.file_name.clone(), form.file.to_vec())),
    };
    write(&state, async |tx: &mut AnyConnection| {
        assets::dispose(tx, &cap, &viewer.audit_ctx(), &viewer.tree, id, &input).await
    })
    .await?;
    Ok(Redirect::to(&format!("/inventory/{id}?disposed=1")).into_response())
}

async fn certificate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, cid)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (cap, a) = visible_asset(&state, &viewer, id).await?;
    let (cert, bytes) = assets::certificate_content(&state.db, cap.org(), a.id, cid).await?;
    let mut entry = viewer
        .audit_ctx()
        .entry("asset.certificate.download", "asset", a.id);
    entry.unit_id = Some(a.unit_id);
    entry.after = Some(serde_json::json!({"certificate_id": cert.id, "sha256": cert.sha256}));
    viewer.record(&state, entry).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::features::inventory::attachment(&cert.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// A Content-Disposition value that downloads `name` (RFC 6266 with an RFC 5987 UTF-8 name and
/// an ASCII fallback).
pub fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

// ------------------------------------------------------------------ bulk work

#[derive(Template)]
#[template(path = "inventory_bulk.html")]
struct BulkPage {
    layout: Layout,
    managers: Vec<(i64, String, i64)>,
    persons: Vec<(i64, String)>,
    units: Vec<(i64, String)>,
}

async fn bulk_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    // Every 管理者 currently holding assets within reach, with the count.
    let managers = assets::manager_counts(&state.db, &cap, &viewer.tree).await?;
    page(&BulkPage {
        layout: Layout::new(&viewer, "管理者の引継ぎ・移管", "/inventory"),
        managers,
        persons: active_persons(&viewer),
        units: reachable_units(&viewer, &cap),
    })
}

#[derive(Deserialize)]
struct ReassignForm {
    from: String,
    to: String,
}

async fn bulk_reassign(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ReassignForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let parse = |v: &str, what: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| AppError::Unprocessable(format!("{what}を選んでください")))
    };
    let from = parse(&form.from, "引継ぎ元の管理者")?;
    let to = parse(&form.to, "引継ぎ先の職員")?;
    let result = write(&state, async |tx: &mut AnyConnection| {
        assets::reassign_manager(tx, &cap, &viewer.audit_ctx(), &viewer.tree, from, to).await
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/inventory?manager={to}&notice=reassigned&count={}",
        result.changed.len()
    ))
    .into_response())
}

async fn bulk_move(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditAssets>(&state).await?;
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let to_unit: i64 = get("to_unit")
        .trim()
        .parse()
        .map_err(|_| AppError::Unprocessable("移管先の組織を選んでください".into()))?;
    let manager =
        match get("manager").trim() {
            "" => None,
            m => Some(m.parse::<i64>().map_err(|_| {
                AppError::Unprocessable("新しい管理者の指定が正しくありません".into())
            })?),
        };
    let ids = resolve_numbers(&state, &cap, &viewer.tree, get("assets")).await?;
    let result = write(&state, async |tx: &mut AnyConnection| {
        assets::move_assets(
            tx,
            &cap,
            &viewer.audit_ctx(),
            &viewer.tree,
            &ids,
            to_unit,
            manager,
        )
        .await
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/inventory?unit={to_unit}&notice=moved&count={}",
        result.changed.len()
    ))
    .into_response())
}

// ------------------------------------------------------------------ settings

#[derive(Template)]
#[template(path = "inventory_settings.html")]
struct SettingsPage {
    layout: Layout,
    scheme: &'static str,
    scheme_code: &'static str,
    interval: i64,
    triage: i64,
}

async fn settings_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(notice): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConfigureAssets>(&state).await?;
    let settings = assets::settings(&state.db, cap.org()).await?;
    let view = viewer.can::<can::ViewAssets>(&state).await?;
    let (_, triage) = assets::list(
        &state.db,
        &view,
        &viewer.tree,
        &AssetFilter {
            triage: true,
            ..AssetFilter::default()
        },
        AssetSort::Number,
        0,
        1,
    )
    .await?;
    page(&SettingsPage {
        layout: Layout::new(&viewer, "情報資産台帳の設定", "/inventory").with_notice(notice.text()),
        scheme: settings.scheme.label_ja(),
        scheme_code: settings.scheme.code(),
        interval: settings.review_interval_days,
        triage,
    })
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    review_interval_days: String,
}

async fn save_settings(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ConfigureAssets>(&state).await?;
    let mut tx = state.db.begin_write().await?;
    let mut notice = "saved";
    if !form.scheme.is_empty() {
        let to = Scheme::from_code(form.scheme.trim()).ok_or_else(|| {
            AppError::Unprocessable(format!("分類「{}」はありません", form.scheme))
        })?;
        assets::switch_scheme(&mut tx, &cap, &viewer.audit_ctx(), to)
            .await
            .map_err(asset_error)?;
        notice = "switched";
    }
    if !form.review_interval_days.is_empty() {
        let days: i64 = mamori_core::text::fold(&form.review_interval_days)
            .parse()
            .map_err(|_| {
                AppError::Unprocessable("確認間隔は日数（数字）で入力してください".into())
            })?;
        assets::set_review_interval(&mut tx, &cap, &viewer.audit_ctx(), days)
            .await
            .map_err(asset_error)?;
    }
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to(&format!("/inventory/settings?notice={notice}")).into_response())
}
