//! 三層の対策 (基本方針 §6(3)): the organisation's network description — zones, segments,
//! hosts, gateways and flows — kept as versions of the `mamori netcheck` TOML format, checked
//! against the zone rules on every view, drawn as a script-free SVG, editable in a textarea or
//! by upload, and exportable as the same TOML a network team checks in its own CI.
//!
//! The JSON API for the same data lives in [`api`]. Reading needs [`can::ViewNetwork`]
//! (network diagrams are system documents, §4(2)③, not for all staff); saving needs
//! [`can::EditNetwork`] (統括 and 情報システム管理者).

pub mod api;

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::permission::{Capability, can};
use mamori_core::zone::Zone;
use mamori_db::Db;
use mamori_db::network::{self, NetworkVersion};
use mamori_db::org::AuditCtx;
use mamori_netcheck::error::check_size;
use mamori_netcheck::model::{Endpoint, serde_plain_protocol};
use mamori_netcheck::report::ElementKind;
use mamori_netcheck::{Diagnostic, InputError, Location, Network, Report};
use serde::Deserialize;

use crate::session::{CsrfForm, Viewer, constant_time_eq};
use crate::views::{Layout, datetime_ja, page};
use crate::{AppError, AppState};

/// The bundled description of the demo organisation's α-model network, offered as a starting
/// point to any organisation that has none yet.
pub const EXAMPLE_TOML: &str = include_str!("../../../../examples/kyonan-alpha.toml");

/// The source listing with line anchors is left out above this many lines (a page of tens of
/// thousands of list items helps no one; the export has the text).
const MAX_LISTED_LINES: usize = 5_000;
/// Longest accepted 改定理由.
const MAX_NOTE_CHARS: usize = 500;

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/network", get(current).post(save))
        .route("/network/edit", get(edit))
        .route("/network/example", post(load_example))
        .route("/network/export.toml", get(export))
        .route("/network/diagram.svg", get(diagram))
        .route("/network/versions", get(versions))
        .route("/network/versions/{n}", get(version))
}

/// A description read and checked.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The network.
    pub network: Network,
    /// The checker's result, violations located in the TOML text.
    pub report: Report,
}

/// Reads and checks a TOML description. `file` names the text in error and violation positions.
pub fn analyse(src: &str, file: &str) -> Result<Analysis, InputError> {
    check_size(file, src.len())?;
    let network = mamori_netcheck::parse_toml(src, file)?;
    let mut report = mamori_netcheck::check(&network);
    mamori_netcheck::locate_violations(src, file, &network, &mut report);
    Ok(Analysis { network, report })
}

/// [`analyse`] on a blocking thread: a large description takes long enough to parse that it
/// must not hold up the async workers.
pub async fn analyse_off_thread(
    src: String,
    file: String,
) -> Result<Result<Analysis, InputError>, AppError> {
    tokio::task::spawn_blocking(move || analyse(&src, &file))
        .await
        .map_err(|e| AppError::Internal(format!("network check task: {e}")))
}

/// The name a stored version goes by in positions and downloads.
pub fn file_name(version_no: i64) -> String {
    format!("network-v{version_no}.toml")
}

/// Checks `src` and, only when it is a valid description, stores it as a new version (audited
/// in the same transaction); returns its number. `Ok(Err(_))` is input the user must fix, with
/// positions in `file`; nothing was stored.
pub async fn store(
    db: &Db,
    cap: &Capability<can::EditNetwork>,
    ctx: &AuditCtx,
    src: String,
    file: &str,
    note: &str,
) -> Result<Result<i64, InputError>, AppError> {
    let file = file.to_owned();
    let file_name = file.clone();
    // The text goes to the checking thread and comes back, so a large one is never copied.
    let (src, checked) = tokio::task::spawn_blocking(move || {
        let checked = analyse(&src, &file).map(|a| cited_exceptions(&a.network));
        (src, checked)
    })
    .await
    .map_err(|e| AppError::Internal(format!("network check task: {e}")))?;
    let cited = match checked {
        Ok(cited) => cited,
        Err(e) => return Ok(Err(e)),
    };
    let mut tx = db.begin_write().await?;
    // A flow's 例外措置 reference stands in for an approval only when it names an exception of
    // this organisation in force today.
    let today = mamori_core::calendar::today_jst();
    let mut diagnostics = Vec::new();
    for (index, name, reference) in cited {
        if let Err(message) =
            mamori_db::exceptions::check_ref(&mut tx, cap.org().0, &reference, today).await?
        {
            let location = src
                .find(&format!("\"{reference}\""))
                .map(|at| Location::at(&file_name, &src, at));
            diagnostics.push(Diagnostic {
                location,
                path: format!("flow[{index}].exception"),
                message: format!("通信「{name}」: {message}"),
            });
        }
    }
    if !diagnostics.is_empty() {
        return Ok(Err(InputError { diagnostics }));
    }
    let n = network::add_version(&mut tx, cap, ctx, &src, note).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Ok(n))
}

/// The 例外措置 references the flows cite: (flow index, flow name, reference).
fn cited_exceptions(net: &Network) -> Vec<(usize, String, String)> {
    net.flows
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let r = f.exception.as_deref()?.trim();
            (!r.is_empty()).then(|| (i, f.display_name(), r.to_owned()))
        })
        .collect()
}

/// Line endings as stored: a browser sends a textarea with CRLF, a file may have either, and
/// the export should not depend on which was used. A leading BOM is dropped.
pub fn normalise_text(src: &str) -> String {
    src.trim_start_matches('\u{feff}').replace("\r\n", "\n")
}

/// Decodes an uploaded or posted body as UTF-8, pointing at the first bad byte.
pub fn utf8_text(bytes: &[u8], file: &str) -> Result<String, InputError> {
    check_size(file, bytes.len())?;
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(normalise_text(s)),
        Err(e) => {
            let at = e.valid_up_to();
            let valid = bytes
                .get(..at)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default();
            Err(InputError::one(
                Some(Location::at(file, valid, at)),
                "",
                format!("UTF-8 として読めません（バイト位置 {at}）"),
            ))
        }
    }
}

// ------------------------------------------------------------------ views

struct ViolationRow {
    severity: &'static str,
    severe: bool,
    rule: String,
    section: String,
    element: String,
    message: String,
    detail: String,
    line: Option<usize>,
}

struct SegmentRow {
    name: String,
    zone: &'static str,
    cidr: String,
    site: String,
    flagged: bool,
}

struct HostRow {
    name: String,
    kind: &'static str,
    zone: &'static str,
    addresses: String,
    site: String,
    asset: String,
    mfa: String,
    take_out_blocked: bool,
    usb_control: bool,
    edr: bool,
    flagged: bool,
}

struct GatewayRow {
    name: String,
    kind: &'static str,
    between: String,
    addresses: String,
    flagged: bool,
}

struct OutsideRow {
    name: String,
    kind: &'static str,
    cidrs: String,
}

struct FlowRow {
    name: String,
    from: String,
    to: String,
    service: String,
    via: String,
    purpose: String,
    approval: String,
    flagged: bool,
}

/// One input error, for the editor.
struct ErrorRow {
    line: Option<usize>,
    column: usize,
    path: String,
    message: String,
}

impl From<&Diagnostic> for ErrorRow {
    fn from(d: &Diagnostic) -> Self {
        ErrorRow {
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map_or(0, |l| l.column),
            path: d.path.clone(),
            message: d.message.clone(),
        }
    }
}

/// Who saved a version and when, for the page header.
struct VersionHead {
    n: i64,
    created: String,
    author: String,
    note: String,
}

impl From<&NetworkVersion> for VersionHead {
    fn from(v: &NetworkVersion) -> Self {
        VersionHead {
            n: v.version_no,
            created: datetime_ja(&v.created_at),
            author: author(v.created_by, v.created_by_name.as_deref()),
            note: v.note.clone(),
        }
    }
}

fn author(id: Option<i64>, name: Option<&str>) -> String {
    match (id, name) {
        (_, Some(n)) => n.to_owned(),
        (Some(_), None) => "（登録簿にない職員）".to_owned(),
        (None, None) => "システム".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "network.html")]
struct NetworkPage {
    layout: Layout,
    head: VersionHead,
    latest: bool,
    can_edit: bool,
    /// Errors when the stored text no longer reads (a newer checker may be stricter).
    unreadable: Vec<ErrorRow>,
    name: String,
    organisation: String,
    model: &'static str,
    zones: Vec<&'static str>,
    counts: Counts,
    rules: usize,
    violations: Vec<ViolationRow>,
    svg: String,
    segments: Vec<SegmentRow>,
    hosts: Vec<HostRow>,
    gateways: Vec<GatewayRow>,
    outside: Vec<OutsideRow>,
    flows: Vec<FlowRow>,
    lines: Vec<String>,
    file: String,
}

#[derive(Default)]
struct Counts {
    segments: usize,
    hosts: usize,
    gateways: usize,
    outside: usize,
    flows: usize,
}

#[derive(Template)]
#[template(path = "network_empty.html")]
struct EmptyPage {
    layout: Layout,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "network_edit.html")]
struct EditPage {
    layout: Layout,
    next: i64,
    toml: String,
    note: String,
    errors: Vec<ErrorRow>,
}

struct VersionRow {
    n: i64,
    created: String,
    author: String,
    note: String,
    chars: i64,
}

#[derive(Template)]
#[template(path = "network_versions.html")]
struct VersionsPage {
    layout: Layout,
    rows: Vec<VersionRow>,
}

fn zone_label(z: Zone) -> &'static str {
    z.label_ja()
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt(s: Option<&str>) -> String {
    s.unwrap_or_default().to_owned()
}

fn endpoint_label(e: &Endpoint) -> String {
    match e {
        Endpoint::Zone(z) => format!("{}（区分全体）", z.label_ja()),
        Endpoint::Host(n) | Endpoint::Segment(n) | Endpoint::Name(n) => n.clone(),
        Endpoint::Outside(n)
            if mamori_netcheck::index::INTERNET_NAMES
                .iter()
                .any(|i| n.eq_ignore_ascii_case(i)) =>
        {
            "インターネット".to_owned()
        }
        Endpoint::Outside(n) => format!("外部: {n}"),
    }
}

/// The MFA method as staff say it; the file holds a free code, so unknown ones show as written.
fn mfa_label(code: Option<&str>) -> String {
    match code.map(str::trim) {
        None | Some("") => String::new(),
        Some("biometric") => "生体認証".to_owned(),
        Some("ic_card") => "ICカード".to_owned(),
        Some("totp" | "otp") => "ワンタイムパスワード".to_owned(),
        Some("none") => "なし".to_owned(),
        Some(other) => other.to_owned(),
    }
}

fn build_page(
    viewer: &Viewer,
    v: &NetworkVersion,
    latest: bool,
    analysed: Result<Analysis, InputError>,
    svg: String,
) -> NetworkPage {
    let layout = Layout::new(viewer, "ネットワーク構成（三層の対策）", "/network");
    let can_edit = viewer.actor.can::<can::EditNetwork>().is_ok();
    let file = file_name(v.version_no);
    let lines = if v.toml.lines().count() <= MAX_LISTED_LINES {
        v.toml.lines().map(str::to_owned).collect()
    } else {
        Vec::new()
    };
    let mut page = NetworkPage {
        layout,
        head: VersionHead::from(v),
        latest,
        can_edit,
        unreadable: Vec::new(),
        name: String::new(),
        organisation: String::new(),
        model: "",
        zones: Vec::new(),
        counts: Counts::default(),
        rules: 0,
        violations: Vec::new(),
        svg,
        segments: Vec::new(),
        hosts: Vec::new(),
        gateways: Vec::new(),
        outside: Vec::new(),
        flows: Vec::new(),
        lines,
        file,
    };
    let a = match analysed {
        Ok(a) => a,
        Err(e) => {
            page.unreadable = e.diagnostics.iter().map(ErrorRow::from).collect();
            return page;
        }
    };
    let net = &a.network;
    let flagged: HashSet<(ElementKind, &str)> = a
        .report
        .violations
        .iter()
        .flat_map(|v| {
            // A pair of overlapping segments is named 「A / B」: flag both.
            let parts: Vec<&str> = if v.element.kind == ElementKind::Segment {
                v.element.name.split(" / ").collect()
            } else {
                vec![v.element.name.as_str()]
            };
            parts.into_iter().map(move |p| (v.element.kind, p))
        })
        .collect();
    let is_flagged = |kind: ElementKind, name: &str| flagged.contains(&(kind, name));

    page.name = net.network.name.clone();
    page.organisation = opt(net.network.organisation.as_deref());
    page.model = net.network.model.label();
    page.zones = Zone::ALL
        .into_iter()
        .filter(|z| {
            net.segments.iter().any(|s| s.zone == *z) || net.hosts.iter().any(|h| h.zone == *z)
        })
        .map(zone_label)
        .collect();
    page.counts = Counts {
        segments: net.segments.len(),
        hosts: net.hosts.len(),
        gateways: net.gateways.len(),
        outside: net.outside.len(),
        flows: net.flows.len(),
    };
    page.rules = a.report.summary.rules;
    page.violations = a
        .report
        .violations
        .iter()
        .map(|v| ViolationRow {
            severity: v.severity.label_ja(),
            severe: matches!(
                v.severity,
                mamori_netcheck::rules::Severity::Critical | mamori_netcheck::rules::Severity::High
            ),
            rule: v.rule.clone(),
            section: v.section.clone(),
            element: v.element.label_ja(),
            message: v.message.clone(),
            detail: if v.message.contains(&v.detail) {
                String::new()
            } else {
                v.detail.clone()
            },
            line: v.location.as_ref().map(|l| l.line),
        })
        .collect();
    page.segments = net
        .segments
        .iter()
        .map(|s| SegmentRow {
            name: s.name.clone(),
            zone: zone_label(s.zone),
            cidr: s.cidr.to_string(),
            site: opt(s.site.as_deref()),
            flagged: is_flagged(ElementKind::Segment, &s.name),
        })
        .collect();
    page.hosts = net
        .hosts
        .iter()
        .map(|h| HostRow {
            name: h.name.clone(),
            kind: h.kind.label_ja(),
            zone: zone_label(h.zone),
            addresses: join(&h.addresses),
            site: opt(h.site.as_deref()),
            asset: opt(h.asset.as_deref()),
            mfa: mfa_label(h.mfa.as_deref()),
            take_out_blocked: h.take_out_blocked,
            usb_control: h.usb_control,
            edr: h.edr,
            flagged: is_flagged(ElementKind::Host, &h.name),
        })
        .collect();
    page.gateways = net
        .gateways
        .iter()
        .map(|g| GatewayRow {
            name: g.name.clone(),
            kind: g.kind.label_ja(),
            between: g
                .between
                .iter()
                .map(|p| p.label_ja())
                .collect::<Vec<_>>()
                .join(" ⇔ "),
            addresses: join(&g.addresses),
            flagged: is_flagged(ElementKind::Gateway, &g.name),
        })
        .collect();
    page.outside = net
        .outside
        .iter()
        .map(|o| OutsideRow {
            name: o.name.clone(),
            kind: o.kind.label_ja(),
            cidrs: join(&o.cidrs),
        })
        .collect();
    page.flows = net
        .flows
        .iter()
        .map(|f| {
            let name = f.display_name();
            FlowRow {
                flagged: is_flagged(ElementKind::Flow, &name),
                name,
                from: endpoint_label(&f.from),
                to: endpoint_label(&f.to),
                service: format!("{}/{}", serde_plain_protocol(f.protocol), f.ports),
                via: opt(f.via.as_deref()),
                purpose: opt(f.purpose.as_deref()),
                approval: [f.approval.as_deref(), f.exception.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(" / "),
            }
        })
        .collect();
    page
}

/// Reads, checks and draws a stored version off the async workers.
async fn show(
    viewer: &Viewer,
    v: NetworkVersion,
    latest: bool,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let file = file_name(v.version_no);
    let text = v.toml.clone();
    let (analysed, svg) = tokio::task::spawn_blocking(move || {
        let analysed = analyse(&text, &file);
        let svg = analysed
            .as_ref()
            .map(|a| mamori_netcheck::render_svg(&a.network, &a.report))
            .unwrap_or_default();
        (analysed, svg)
    })
    .await
    .map_err(|e| AppError::Internal(format!("network check task: {e}")))?;
    let mut p = build_page(viewer, &v, latest, analysed, svg);
    p.layout = p.layout.with_notice(notice);
    page(&p)
}

fn empty_page(viewer: &Viewer) -> Result<Response, AppError> {
    page(&EmptyPage {
        layout: Layout::new(viewer, "ネットワーク構成（三層の対策）", "/network"),
        can_edit: viewer.actor.can::<can::EditNetwork>().is_ok(),
    })
}

#[derive(Deserialize)]
struct CurrentQuery {
    /// Set by the redirect after a save, to confirm it.
    saved: Option<i64>,
}

async fn current(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<CurrentQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let Some(v) = network::current(&state.db, &cap).await? else {
        return empty_page(&viewer);
    };
    let notice = q
        .saved
        .filter(|n| *n == v.version_no)
        .map(|n| format!("第{n}版として登録しました。"));
    show(&viewer, v, true, notice).await
}

async fn version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(n): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let v = network::version(&state.db, &cap, n)
        .await?
        .ok_or(AppError::NotFound)?;
    let latest = network::current(&state.db, &cap)
        .await?
        .is_some_and(|c| c.version_no == n);
    show(&viewer, v, latest, None).await
}

async fn versions(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let rows = network::versions(&state.db, &cap)
        .await?
        .into_iter()
        .map(|v| VersionRow {
            n: v.version_no,
            created: datetime_ja(&v.created_at),
            author: author(v.created_by, v.created_by_name.as_deref()),
            note: v.note,
            chars: v.chars,
        })
        .collect();
    page(&VersionsPage {
        layout: Layout::new(&viewer, "ネットワーク構成の版", "/network"),
        rows,
    })
}

/// `?version=N` on downloads: that version instead of the newest.
#[derive(Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

async fn pick(
    state: &AppState,
    cap: &Capability<can::ViewNetwork>,
    version: Option<i64>,
) -> Result<NetworkVersion, AppError> {
    match version {
        Some(n) => network::version(&state.db, cap, n).await?,
        None => network::current(&state.db, cap).await?,
    }
    .ok_or(AppError::NotFound)
}

/// The description as a TOML file, exactly as saved. Recorded in the audit trail: the file is
/// a system document (§4(2)③) leaving the application.
async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<VersionQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let v = pick(&state, &cap, q.version).await?;
    let mut entry = viewer
        .audit_ctx()
        .entry("network.export", "network_model", v.version_no);
    entry.after = Some(serde_json::json!({"version_no": v.version_no, "format": "toml"}));
    viewer.record(&state, entry).await?;
    let mut resp = v.toml.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    if let Ok(d) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        file_name(v.version_no)
    )) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(resp)
}

/// The diagram alone, as an SVG document (for saving or printing at full size).
async fn diagram(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<VersionQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewNetwork>(&state).await?;
    let v = pick(&state, &cap, q.version).await?;
    let file = file_name(v.version_no);
    let svg = tokio::task::spawn_blocking(move || {
        analyse(&v.toml, &file).map(|a| mamori_netcheck::render_svg(&a.network, &a.report))
    })
    .await
    .map_err(|e| AppError::Internal(format!("network check task: {e}")))?
    .map_err(|e| AppError::Internal(format!("stored network does not read: {e}")))?;
    let mut resp = svg.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    Ok(resp)
}

fn edit_page(
    viewer: &Viewer,
    next: i64,
    toml: String,
    note: String,
    errors: Vec<ErrorRow>,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let p = EditPage {
        layout: Layout::new(viewer, "ネットワーク構成の編集", "/network"),
        next,
        toml,
        note,
        errors,
    };
    let mut resp = page(&p)?;
    *resp.status_mut() = status;
    Ok(resp)
}

async fn next_version(
    state: &AppState,
    viewer: &Viewer,
) -> Result<(i64, Option<String>), AppError> {
    // Editing implies reading; the view capability is derived from the same roles.
    let view = viewer.can::<can::ViewNetwork>(state).await?;
    let current = network::current(&state.db, &view).await?;
    Ok(match current {
        Some(v) => (v.version_no + 1, Some(v.toml)),
        None => (1, None),
    })
}

async fn edit(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::EditNetwork>(&state).await?;
    let (next, toml) = next_version(&state, &viewer).await?;
    edit_page(
        &viewer,
        next,
        toml.unwrap_or_default(),
        String::new(),
        Vec::new(),
    )
}

/// The editor's fields, from either a plain form or a form with a file.
#[derive(Debug, Default, Deserialize)]
struct SaveForm {
    #[serde(default)]
    toml: String,
    #[serde(default)]
    note: String,
    /// Only in multipart: the uploaded file and its name.
    #[serde(skip)]
    file: Bytes,
    #[serde(skip)]
    file_name: String,
}

/// Reads the editor form. A plain urlencoded form goes through [`CsrfForm`]; a multipart form
/// (the one with the file field) carries its CSRF token as a field, checked here the same way.
async fn read_save_form(
    state: &AppState,
    viewer: &Viewer,
    req: Request,
) -> Result<SaveForm, AppError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !is_multipart {
        let CsrfForm(form) = CsrfForm::<SaveForm>::from_request(req, state).await?;
        return Ok(form);
    }
    let unreadable = |_| AppError::bad("送信されたフォームを読み取れませんでした");
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::bad("送信されたフォームを読み取れませんでした"))?;
    let mut form = SaveForm::default();
    let mut csrf = String::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => {
                form.file_name = field.file_name().unwrap_or_default().to_owned();
                form.file = field.bytes().await.map_err(unreadable)?;
            }
            Some(name @ ("csrf" | "toml" | "note")) => {
                let name = name.to_owned();
                let text = field.text().await.map_err(unreadable)?;
                match name.as_str() {
                    "csrf" => csrf = text,
                    "toml" => form.toml = text,
                    _ => form.note = text,
                }
            }
            // Unknown fields are drained by the next call and ignored.
            _ => {}
        }
    }
    let expected = viewer.csrf();
    if viewer.session.is_none()
        || expected.is_empty()
        || !constant_time_eq(csrf.as_bytes(), expected.as_bytes())
    {
        return Err(AppError::Csrf);
    }
    Ok(form)
}

/// The base name of an uploaded file, for error positions (never a path; never empty).
fn upload_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    if base.is_empty() {
        "network.toml".to_owned()
    } else {
        base
    }
}

fn clean_note(raw: &str) -> String {
    mamori_core::text::normalize(raw)
        .chars()
        .take(MAX_NOTE_CHARS)
        .collect()
}

async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> Result<Response, AppError> {
    let form = read_save_form(&state, &viewer, req).await?;
    let cap = viewer.can::<can::EditNetwork>(&state).await?;
    let (next, _) = next_version(&state, &viewer).await?;
    let note = clean_note(&form.note);
    let (file, text) = if form.file.is_empty() {
        ("network.toml".to_owned(), Ok(normalise_text(&form.toml)))
    } else {
        let file = upload_name(&form.file_name);
        let text = utf8_text(&form.file, &file);
        (file, text)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            let rows = e.diagnostics.iter().map(ErrorRow::from).collect();
            return edit_page(&viewer, next, form.toml, note, rows);
        }
    };
    if text.trim().is_empty() {
        let rows = vec![ErrorRow {
            line: None,
            column: 0,
            path: String::new(),
            message: "TOML を入力するか、ファイルを選択してください".to_owned(),
        }];
        return edit_page(&viewer, next, text, note, rows);
    }
    match store(
        &state.db,
        &cap,
        &viewer.audit_ctx(),
        text.clone(),
        &file,
        &note,
    )
    .await?
    {
        Ok(n) => Ok(Redirect::to(&format!("/network?saved={n}")).into_response()),
        // The text stays in the editor (an uploaded file's too), so the lines match the errors.
        Err(e) => {
            let rows = e.diagnostics.iter().map(ErrorRow::from).collect();
            edit_page(&viewer, next, text, note, rows)
        }
    }
}

#[derive(Deserialize)]
struct NoFields {}

/// Stores the bundled example as a version, for an organisation starting from nothing.
async fn load_example(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditNetwork>(&state).await?;
    let stored = store(
        &state.db,
        &cap,
        &viewer.audit_ctx(),
        EXAMPLE_TOML.to_owned(),
        "kyonan-alpha.toml",
        "記述例（kyonan-alpha.toml）を読み込み",
    )
    .await?;
    match stored {
        Ok(n) => Ok(Redirect::to(&format!("/network?saved={n}")).into_response()),
        Err(e) => Err(AppError::Internal(format!(
            "bundled example does not read: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_bundled_example_reads_and_is_clean() {
        let a = analyse(EXAMPLE_TOML, "kyonan-alpha.toml").unwrap();
        assert!(a.report.is_clean());
        assert_eq!(a.network.hosts.len(), 30);
    }

    #[test]
    fn text_is_stored_with_lf_and_bad_bytes_are_located() {
        assert_eq!(
            normalise_text("\u{feff}a = 1\r\nb = 2\r\n"),
            "a = 1\nb = 2\n"
        );
        let e = utf8_text(b"a = 1\nb = \"\xff\"\n", "x.toml").unwrap_err();
        let loc = e.diagnostics[0].location.clone().unwrap();
        assert_eq!((loc.file.as_str(), loc.line, loc.column), ("x.toml", 2, 6));
    }

    #[test]
    fn an_upload_name_is_a_base_name_and_never_empty() {
        assert_eq!(upload_name("C:\\Users\\me\\net.toml"), "net.toml");
        assert_eq!(upload_name("../../etc/passwd"), "passwd");
        assert_eq!(upload_name(""), "network.toml");
        assert_eq!(upload_name("a\u{7}b.toml"), "ab.toml");
    }

    #[test]
    fn labels_read_as_staff_say_them() {
        assert_eq!(
            endpoint_label(&"internet".parse().unwrap()),
            "インターネット"
        );
        assert_eq!(
            endpoint_label(&"zone:lgwan".parse().unwrap()),
            "LGWAN接続系（区分全体）"
        );
        assert_eq!(mfa_label(Some("biometric")), "生体認証");
        assert_eq!(mfa_label(Some("指静脈")), "指静脈");
        assert_eq!(mfa_label(None), "");
    }
}
