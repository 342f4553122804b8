//! The organisation (§4(1), §6(1)): the unit tree, persons (職員等) and role assignments, with
//! history. Editing is scoped by the permission table: a 管理者 edits its own unit only.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_core::org::{EmploymentType, Login, OrgId, PersonStatus, UnitCode, UnitKind};
use mamori_core::permission::can;
use mamori_core::role::Role;
use mamori_db::audit;
use mamori_db::auth;
use mamori_db::org::{self, AssignmentInput, PersonFilter, PersonInput, UnitInput};
use serde::Deserialize;

use crate::password;
use crate::session::{CsrfForm, Viewer, today_jst};
use crate::views::{Layout, date_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org", get(tree))
        .route("/org/units", post(create_unit))
        .route("/org/roles", get(roles))
        .route("/org/persons", get(persons).post(create_person))
        .route("/org/persons/{id}", get(person).post(update_person))
        .route("/org/persons/{id}/assignments", post(add_assignment))
        .route("/org/persons/{id}/reset-password", post(reset_password))
        .route("/org/assignments/{id}/end", post(end_assignment))
}

struct TreeRow {
    depth: usize,
    code: String,
    name: String,
    kind: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "org_tree.html")]
struct TreePage {
    layout: Layout,
    rows: Vec<TreeRow>,
    can_edit: bool,
    can_import: bool,
    parents: Vec<(i64, String)>,
}

fn kind_label(code: &str) -> &'static str {
    code.parse::<UnitKind>()
        .map(UnitKind::label_ja)
        .unwrap_or("")
}

async fn tree(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    viewer.can::<can::ViewOrg>(&state).await?;
    let mut rows = Vec::new();
    let mut stack: Vec<(i64, usize)> = viewer
        .tree
        .root()
        .map(|r| vec![(r.id, 0)])
        .unwrap_or_default();
    while let Some((id, depth)) = stack.pop() {
        if let Some(u) = viewer.tree.get(id) {
            rows.push(TreeRow {
                depth,
                code: u.code.clone(),
                name: u.name.clone(),
                kind: kind_label(&u.kind),
                active: u.active == 1,
            });
        }
        if rows.len() > 10_000 {
            break;
        }
        for child in viewer.tree.children(id).into_iter().rev() {
            stack.push((child.id, depth + 1));
        }
    }
    let can_edit = viewer.actor.can::<can::EditUnits>().is_ok();
    let parents = unit_options(&viewer);
    page(&TreePage {
        layout: Layout::new(&viewer, "組織", "/org"),
        rows,
        can_edit,
        can_import: viewer.actor.can::<can::ImportRoster>().is_ok(),
        parents,
    })
}

fn unit_options(viewer: &Viewer) -> Vec<(i64, String)> {
    viewer
        .tree
        .units()
        .iter()
        .map(|u| (u.id, format!("{} {}", u.code, viewer.tree.full_name(u.id))))
        .collect()
}

#[derive(Deserialize)]
struct UnitForm {
    parent_id: i64,
    code: String,
    name: String,
    #[serde(default)]
    sort_order: Option<i64>,
}

async fn create_unit(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<UnitForm>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::EditUnits>(&state).await?;
    let code = UnitCode::parse(&form.code).map_err(|e| AppError::bad(e.to_string()))?;
    let name = mamori_core::text::normalize(&form.name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad("組織名は1〜100文字で入力してください"));
    }
    let parent = viewer
        .tree
        .get(form.parent_id)
        .ok_or_else(|| AppError::bad("上位組織が見つかりません"))?;
    let kind = parent
        .kind
        .parse::<UnitKind>()
        .ok()
        .and_then(UnitKind::child)
        .ok_or_else(|| AppError::bad("係の下には組織を作れません"))?;
    let mut tx = state.db.begin_write().await?;
    org::create_unit(
        &mut tx,
        &cap,
        &viewer.audit_ctx(),
        &UnitInput {
            parent_id: parent.id,
            code: code.to_string(),
            name,
            kind: kind.code().into(),
            sort_order: form.sort_order.unwrap_or(0),
            active: true,
        },
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to("/org").into_response())
}

struct RoleRow {
    role: String,
    unit: String,
    person: String,
    person_id: i64,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "org_roles.html")]
struct RolesPage {
    layout: Layout,
    rows: Vec<RoleRow>,
}

async fn roles(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    let list = org::assignments_in_force(&state.db, cap.org(), &today_jst()).await?;
    let mut rows = Vec::new();
    for a in list {
        let p = org::person(&state.db, cap.org(), a.person_id).await?;
        rows.push(RoleRow {
            role: a
                .role
                .parse::<Role>()
                .map(|r| r.label_ja().to_owned())
                .unwrap_or(a.role.clone()),
            unit: viewer.tree.full_name(a.unit_id),
            person: p.name,
            person_id: p.id,
            from: date_ja(&a.valid_from),
            to: a.valid_to.as_deref().map(date_ja).unwrap_or_default(),
        });
    }
    page(&RolesPage {
        layout: Layout::new(&viewer, "役割の一覧", "/org"),
        rows,
    })
}

/// Query of the person list.
#[derive(Debug, Default, Deserialize)]
pub struct PersonQuery {
    /// Search text.
    pub q: Option<String>,
    /// Unit code (with the units below it).
    pub unit: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Employment type code.
    pub employment: Option<String>,
    /// Page, from 1.
    pub page: Option<i64>,
}

struct PersonRow {
    id: i64,
    staff_no: String,
    name: String,
    login: String,
    unit: String,
    employment: &'static str,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "org_persons.html")]
struct PersonsPage {
    layout: Layout,
    rows: Vec<PersonRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    q: String,
    unit: String,
    status: String,
    can_create: bool,
    units: Vec<(i64, String)>,
    employments: Vec<(&'static str, &'static str)>,
}

const PER_PAGE: i64 = 50;

fn employment_label(code: &str) -> &'static str {
    EmploymentType::ALL
        .into_iter()
        .find(|t| t.code() == code)
        .map(EmploymentType::label_ja)
        .unwrap_or("")
}

fn status_label(code: &str) -> &'static str {
    code.parse::<PersonStatus>()
        .map(PersonStatus::label_ja)
        .unwrap_or("")
}

/// Translates the list query into a filter within the viewer's organisation.
pub fn person_filter(viewer: &Viewer, q: &PersonQuery) -> Result<PersonFilter, AppError> {
    let units = match q.unit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => {
            let u = viewer
                .tree
                .by_code(code)
                .ok_or_else(|| AppError::bad(format!("組織コード「{code}」はありません")))?;
            Some(viewer.tree.subtree(u.id))
        }
        None => None,
    };
    Ok(PersonFilter {
        units,
        q: q.q.clone(),
        status: q.status.clone(),
        employment: q.employment.clone(),
    })
}

async fn persons(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PersonQuery>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    let filter = person_filter(&viewer, &q)?;
    let page_no = q.page.unwrap_or(1).clamp(1, 100_000);
    let (list, total) = org::list_persons(
        &state.db,
        cap.org(),
        &filter,
        (page_no - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let rows = list
        .into_iter()
        .map(|p| PersonRow {
            id: p.id,
            staff_no: p.staff_no.unwrap_or_default(),
            name: p.name,
            login: p.login,
            unit: viewer.tree.full_name(p.unit_id),
            employment: employment_label(&p.employment),
            status: status_label(&p.status),
        })
        .collect();
    let can_create = viewer.actor.can::<can::EditPersons>().is_ok();
    let units = editable_units::<can::EditPersons>(&viewer);
    page(&PersonsPage {
        layout: Layout::new(&viewer, "職員等の一覧", "/org"),
        rows,
        total,
        page_no,
        pages: (total + PER_PAGE - 1) / PER_PAGE,
        q: q.q.unwrap_or_default(),
        unit: q.unit.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        can_create,
        units,
        employments: EmploymentType::ALL
            .iter()
            .map(|t| (t.code(), t.label_ja()))
            .collect(),
    })
}

fn editable_units<P: mamori_core::permission::Permission>(viewer: &Viewer) -> Vec<(i64, String)> {
    match viewer.actor.can::<P>() {
        Ok(cap) => {
            let ids = viewer.tree.reachable(cap.reach());
            unit_options(viewer)
                .into_iter()
                .filter(|(id, _)| ids.contains(id))
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

struct AssignmentRow {
    id: i64,
    role: String,
    unit: String,
    from: String,
    to: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "org_person.html")]
struct PersonPage {
    layout: Layout,
    p: org::Person,
    unit: String,
    employment: &'static str,
    status: &'static str,
    assignments: Vec<AssignmentRow>,
    can_edit: bool,
    can_assign: bool,
    can_reset: bool,
    units: Vec<(i64, String)>,
    grantable: Vec<(&'static str, &'static str)>,
    employments: Vec<(&'static str, &'static str)>,
    today: String,
}

async fn person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::ViewOrg>(&state).await?;
    let p = org::person(&state.db, cap.org(), id).await?;
    let path = viewer.tree.path(p.unit_id);
    let today = today_jst();
    let assignments = org::assignments_of(&state.db, cap.org(), id)
        .await?
        .into_iter()
        .map(|a| AssignmentRow {
            id: a.id,
            role: a
                .role
                .parse::<Role>()
                .map(|r| r.label_ja().to_owned())
                .unwrap_or(a.role.clone()),
            unit: viewer.tree.full_name(a.unit_id),
            from: date_ja(&a.valid_from),
            to: a.valid_to.as_deref().map(date_ja).unwrap_or_default(),
            in_force: a.in_force_on(&today),
        })
        .collect();
    let layout = Layout::new(&viewer, format!("{} さん", p.name), "/org");
    page(&PersonPage {
        layout,
        unit: viewer.tree.full_name(p.unit_id),
        employment: employment_label(&p.employment),
        status: status_label(&p.status),
        assignments,
        can_edit: viewer.actor.can_on::<can::EditPersons>(&path).is_ok(),
        can_assign: viewer.actor.can::<can::EditAssignments>().is_ok(),
        can_reset: viewer.actor.can::<can::AdministerAccounts>().is_ok(),
        units: editable_units::<can::EditPersons>(&viewer),
        grantable: Role::ALL
            .iter()
            .filter(|r| viewer.actor.may_grant(**r))
            .map(|r| (r.code(), r.label_ja()))
            .collect(),
        employments: EmploymentType::ALL
            .iter()
            .map(|t| (t.code(), t.label_ja()))
            .collect(),
        today,
        p,
    })
}

/// A person as typed in a form or sent to the API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PersonForm {
    /// Login.
    pub login: String,
    /// 職員番号.
    #[serde(default)]
    pub staff_no: String,
    /// Name.
    pub name: String,
    /// Reading.
    #[serde(default)]
    pub name_kana: String,
    /// Unit code.
    pub unit: String,
    /// Employment type (code or Japanese).
    pub employment: String,
    /// Mail.
    #[serde(default)]
    pub email: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// Status (code or Japanese); active when empty.
    #[serde(default)]
    pub status: String,
}

/// Checks a person's fields, naming the first wrong one in Japanese.
pub fn parse_person(viewer: &Viewer, f: &PersonForm) -> Result<PersonInput, AppError> {
    let login = Login::parse(&f.login).map_err(|e| AppError::bad(e.to_string()))?;
    let name = mamori_core::text::normalize(&f.name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad("氏名は1〜100文字で入力してください"));
    }
    let unit = viewer
        .tree
        .by_code(f.unit.trim())
        .ok_or_else(|| AppError::bad(format!("組織コード「{}」はありません", f.unit.trim())))?;
    let employment: EmploymentType = f
        .employment
        .parse()
        .map_err(|e: mamori_core::org::InvalidValue| AppError::bad(e.to_string()))?;
    let status: PersonStatus = f
        .status
        .parse()
        .map_err(|e: mamori_core::org::InvalidValue| AppError::bad(e.to_string()))?;
    let email = f.email.trim().to_owned();
    if !email.is_empty() && (!email.contains('@') || email.len() > 254) {
        return Err(AppError::bad(format!(
            "メールアドレス「{email}」の形式が正しくありません"
        )));
    }
    let staff_no = mamori_core::text::normalize(&f.staff_no);
    Ok(PersonInput {
        login: login.to_string(),
        staff_no: if staff_no.is_empty() {
            None
        } else {
            Some(staff_no)
        },
        name,
        name_kana: mamori_core::text::normalize(&f.name_kana),
        unit_id: unit.id,
        employment: employment.code().into(),
        email,
        phone: mamori_core::text::normalize(&f.phone),
        status: status.code().into(),
    })
}

async fn create_person(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<PersonForm>,
) -> Result<Response, AppError> {
    let input = parse_person(&viewer, &form)?;
    let cap = viewer
        .can_on::<can::EditPersons>(&state, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    let id = org::create_person(&mut tx, &cap, &viewer.audit_ctx(), &input, None).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to(&format!("/org/persons/{id}")).into_response())
}

async fn update_person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<PersonForm>,
) -> Result<Response, AppError> {
    let existing = org::person(&state.db, OrgId(viewer.person.org_id), id).await?;
    let input = parse_person(&viewer, &form)?;
    // Both where the person is and where they go must be within reach.
    let cap = viewer
        .can_edit_person(&state, &existing, input.unit_id)
        .await?;
    let mut tx = state.db.begin_write().await?;
    org::update_person(&mut tx, &cap, &viewer.audit_ctx(), id, &input).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to(&format!("/org/persons/{id}")).into_response())
}

/// A role assignment as typed in a form or sent to the API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignmentForm {
    /// Role (code or Japanese).
    pub role: String,
    /// Unit code.
    pub unit: String,
    /// First day (any date a user types: 2026-04-01, 令和8年4月1日, R8.4.1).
    pub valid_from: String,
    /// Last day, inclusive; empty for open-ended.
    #[serde(default)]
    pub valid_to: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

fn iso_date(s: &str, field: &str) -> Result<String, AppError> {
    let d =
        mamori_core::calendar::parse_date(s).map_err(|e| AppError::bad(format!("{field}: {e}")))?;
    Ok(mamori_core::calendar::format_iso(d))
}

/// Grants a role after checking the viewer may grant it, in that unit, to that person.
pub async fn grant(
    state: &AppState,
    viewer: &Viewer,
    person_id: i64,
    f: &AssignmentForm,
) -> Result<i64, AppError> {
    // Someone outside the viewer's organisation is not there at all (404, not 403).
    let person = org::person(&state.db, OrgId(viewer.person.org_id), person_id).await?;
    let role: Role = f
        .role
        .parse()
        .map_err(|e: mamori_core::role::UnknownRole| AppError::bad(e.to_string()))?;
    let unit = viewer
        .tree
        .by_code(f.unit.trim())
        .ok_or_else(|| AppError::bad(format!("組織コード「{}」はありません", f.unit.trim())))?;
    let cap = viewer
        .can_on::<can::EditAssignments>(state, unit.id)
        .await?;
    // A role changes what its holder may do: the holder must be within the granter's reach
    // too, or a 管理者 could hand authority in its section to staff of another one.
    viewer
        .can_on::<can::EditAssignments>(state, person.unit_id)
        .await?;
    if !viewer.actor.may_grant(role) {
        return Err(viewer
            .denied(
                state,
                mamori_core::permission::Denied {
                    action: mamori_core::permission::Action::AssignmentEdit,
                },
                Some(unit.id),
            )
            .await);
    }
    let valid_from = iso_date(&f.valid_from, "開始日")?;
    let valid_to = if f.valid_to.trim().is_empty() {
        None
    } else {
        Some(iso_date(&f.valid_to, "終了日")?)
    };
    if valid_to
        .as_deref()
        .is_some_and(|to| to < valid_from.as_str())
    {
        return Err(AppError::bad("終了日は開始日以降の日付にしてください"));
    }
    let input = AssignmentInput {
        person_id,
        role,
        unit_id: unit.id,
        valid_from,
        valid_to,
        note: mamori_core::text::normalize(&f.note),
    };
    let mut tx = state.db.begin_write().await?;
    let id = org::create_assignment(&mut tx, &cap, &viewer.audit_ctx(), &input).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(id)
}

async fn add_assignment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<AssignmentForm>,
) -> Result<Response, AppError> {
    grant(&state, &viewer, id, &form).await?;
    Ok(Redirect::to(&format!("/org/persons/{id}")).into_response())
}

#[derive(Deserialize)]
struct EndForm {
    #[serde(default)]
    last_day: String,
}

async fn end_assignment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<EndForm>,
) -> Result<Response, AppError> {
    let a = org::assignment(&state.db, OrgId(viewer.person.org_id), id).await?;
    let cap = viewer
        .can_on::<can::EditAssignments>(&state, a.unit_id)
        .await?;
    let last = if form.last_day.trim().is_empty() {
        today_jst()
    } else {
        iso_date(&form.last_day, "終了日")?
    };
    let mut tx = state.db.begin_write().await?;
    org::end_assignment(&mut tx, &cap, &viewer.audit_ctx(), id, &last).await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    Ok(Redirect::to(&format!("/org/persons/{}", a.person_id)).into_response())
}

#[derive(Template)]
#[template(path = "org_reset.html")]
struct ResetPage {
    layout: Layout,
    name: String,
    temporary: String,
}

#[derive(Deserialize)]
struct Empty {}

async fn reset_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    let cap = viewer.can::<can::AdministerAccounts>(&state).await?;
    let p = org::person(&state.db, cap.org(), id).await?;
    let temporary = password::random_token(12);
    let hash = password::hash(temporary.clone(), state.config.argon2_memory_kib).await?;
    let mut tx = state.db.begin_write().await?;
    auth::set_password_hash(&mut tx, p.id, &hash, true).await?;
    auth::set_totp_secret(&mut tx, p.id, None, false).await?;
    auth::replace_recovery_codes(&mut tx, p.id, &[]).await?;
    auth::delete_sessions_of(&mut tx, p.id).await?;
    auth::clear_throttle(&mut tx, &format!("login:{}", p.login)).await?;
    audit::append(
        &mut tx,
        viewer.audit_ctx().entry("account.reset", "person", p.id),
    )
    .await?;
    tx.commit().await.map_err(mamori_db::DbError::from)?;
    page(&ResetPage {
        layout: Layout::new(&viewer, "パスワードの再設定", "/org"),
        name: p.name,
        temporary,
    })
}
