//! The home page: the person's own tasks and the counts that matter to their role.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use mamori_core::calendar::FiscalYear;
use mamori_core::permission::{Action, Capability, can, scope_of};
use mamori_db::auth;
use mamori_db::org::{self, PersonFilter};

use crate::session::{Viewer, today_jst};
use crate::views::{Layout, date_ja, page};
use crate::{AppError, AppState};

/// Routes of this feature.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

struct Task {
    text: String,
    href: String,
    /// 「回答」「誓約」… for tasks of the yearly cycle; empty for account housekeeping.
    kind: &'static str,
    /// 「期限 令和8年5月1日」, or empty.
    due: String,
    overdue: bool,
}

impl Task {
    fn plain(text: impl Into<String>, href: &str) -> Task {
        Task {
            text: text.into(),
            href: href.to_owned(),
            kind: "",
            due: String::new(),
            overdue: false,
        }
    }
}

struct Count {
    label: &'static str,
    value: i64,
    href: &'static str,
}

/// One version in force of the 基本方針 or 対策基準 and how far it has been acknowledged (§5).
struct AckBlock {
    title: String,
    href: String,
    percent: i64,
    acknowledged: i64,
    active: i64,
    /// (indented unit name, acknowledged, active, percent)
    units: Vec<(String, i64, i64, i64)>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    acks: Vec<AckBlock>,
    layout: Layout,
    name: String,
    today: String,
    fiscal_year: String,
    roles: Vec<(String, String)>,
    tasks: Vec<Task>,
    counts: Vec<Count>,
}

async fn home(State(state): State<AppState>, viewer: Option<Viewer>) -> Result<Response, AppError> {
    let Some(viewer) = viewer else {
        return Ok(Redirect::to("/login").into_response());
    };
    let today = today_jst();
    let mut tasks = Vec::new();
    if viewer.person.totp_enabled == 0 {
        tasks.push(Task::plain(
            "二要素認証（確認コード）を登録してください",
            "/account",
        ));
    } else if auth::recovery_codes_left(&state.db, viewer.person.id).await? < 3 {
        tasks.push(Task::plain(
            "回復コードの残りが少なくなっています。再発行してください",
            "/account",
        ));
    }
    let policy = mamori_db::policy::current(&state.db, viewer.person.org_id).await?;
    if policy.is_none() {
        tasks.push(Task::plain(
            "情報セキュリティポリシーが登録されていません",
            "/policy",
        ));
    }
    let today_date = mamori_core::calendar::today_jst();
    for t in mamori_db::tasks::for_person(
        &state.db,
        viewer.person.org_id,
        viewer.person.id,
        today_date,
    )
    .await?
    {
        tasks.push(Task {
            overdue: t.overdue(today_date),
            due: t
                .due
                .map(|d| format!("期限 {}", mamori_core::calendar::format_wareki(d)))
                .unwrap_or_default(),
            kind: t.kind.label_ja(),
            text: t.title,
            href: t.href,
        });
    }
    let (_, persons) = org::filter_persons(
        &viewer.snapshot.persons,
        &PersonFilter {
            status: Some("active".into()),
            ..PersonFilter::default()
        },
        0,
        0,
    );
    let in_force = &viewer.snapshot.assignments;
    let my_unit = viewer.tree.subtree(viewer.person.unit_id);
    let (_, unit_persons) = org::filter_persons(
        &viewer.snapshot.persons,
        &PersonFilter {
            units: Some(my_unit),
            status: Some("active".into()),
            ..PersonFilter::default()
        },
        0,
        0,
    );
    let mut counts = vec![
        Count {
            label: "在職中の職員等",
            value: persons,
            href: "/org/persons?status=active",
        },
        Count {
            label: "所属部署の職員等",
            value: unit_persons,
            href: "/org/persons",
        },
        Count {
            label: "組織（所属・課・係）",
            value: i64::try_from(viewer.tree.units().len()).unwrap_or(0),
            href: "/org",
        },
        Count {
            label: "有効な役割の割当て",
            value: i64::try_from(in_force.len()).unwrap_or(0),
            href: "/org/roles",
        },
    ];
    if viewer
        .actor
        .held
        .iter()
        .any(|h| scope_of(h.role, Action::AuditView).is_some())
    {
        let recent = mamori_db::audit::list(
            &state.db,
            &mamori_db::audit::Filter {
                org_id: Some(viewer.person.org_id),
                action_prefix: Some("login.lockout".into()),
                ..Default::default()
            },
            100,
        )
        .await?;
        counts.push(Count {
            label: "アカウントロック（直近100件まで）",
            value: i64::try_from(recent.len()).unwrap_or(0),
            href: "/audit?action=login.lockout",
        });
    }
    if let Ok(cap) = viewer.actor.can::<can::ViewNetwork>() {
        network_count(&state, &viewer, &cap, &mut counts, &mut tasks).await?;
    }
    let roles = viewer
        .actor
        .held
        .iter()
        .map(|h| {
            (
                h.role.label_ja().to_owned(),
                viewer.tree.full_name(h.unit.0),
            )
        })
        .collect();
    let fy = mamori_core::calendar::parse_date(&today)
        .map(FiscalYear::of)
        .map(|f| f.label_wareki())
        .unwrap_or_default();
    let acks = ack_blocks(&state, &viewer).await?;
    let dash = Dashboard {
        acks,
        layout: Layout::new(&viewer, "ホーム", "/"),
        name: viewer.person.name.clone(),
        today: date_ja(&today),
        fiscal_year: fy,
        roles,
        tasks,
        counts,
    };
    page(&dash)
}

/// Acknowledgement rates of the policy versions in force, within the viewer's reach, for those
/// who oversee them (CISO, 副CISO, 統括 everywhere; 責任者 their body; 管理者 their unit).
async fn ack_blocks(state: &AppState, viewer: &Viewer) -> Result<Vec<AckBlock>, AppError> {
    let Ok(cap) = viewer.actor.can::<can::ReportAcknowledgements>() else {
        return Ok(Vec::new());
    };
    let org = viewer.person.org_id;
    let mut out = Vec::new();
    for (doc, v) in mamori_db::documents::versions_to_acknowledge(&state.db, org).await? {
        let ack =
            mamori_db::documents::version_ack(&state.db, org, &viewer.tree, v.id, cap.reach())
                .await?;
        // The top of the reach and one level below: bodies for the whole organisation,
        // sections for a body.
        let top = ack.units.iter().map(|u| u.depth).min().unwrap_or(0);
        let units = ack
            .units
            .iter()
            .filter(|u| u.depth <= top + 1)
            .take(30)
            .map(|u| {
                let indent = "　".repeat(u.depth.saturating_sub(top));
                (
                    format!("{indent}{}", u.name),
                    u.acknowledged,
                    u.active,
                    u.percent(),
                )
            })
            .collect();
        out.push(AckBlock {
            title: format!("{} 第{}版", doc.title, v.version_no),
            href: format!(
                "/documents/{}/versions/{}/acknowledgements",
                doc.id, v.version_no
            ),
            percent: ack.percent(),
            acknowledged: ack.acknowledged,
            active: ack.active,
            units,
        });
    }
    Ok(out)
}

/// The network check's violations (the description is read and checked on each view, so the
/// count is never stale), or a task when nothing is registered yet.
async fn network_count(
    state: &AppState,
    viewer: &Viewer,
    cap: &Capability<can::ViewNetwork>,
    counts: &mut Vec<Count>,
    tasks: &mut Vec<Task>,
) -> Result<(), AppError> {
    let Some(v) = mamori_db::network::current(&state.db, cap).await? else {
        if viewer.actor.can::<can::EditNetwork>().is_ok() {
            tasks.push(Task::plain(
                "ネットワーク構成（三層の対策）が登録されていません",
                "/network",
            ));
        }
        return Ok(());
    };
    let file = super::network::file_name(v.version_no);
    match super::network::analyse_off_thread(v.toml, file).await? {
        Ok(a) => counts.push(Count {
            label: "ネットワーク構成の違反",
            value: i64::try_from(a.report.violations.len()).unwrap_or(i64::MAX),
            href: "/network",
        }),
        Err(_) => tasks.push(Task::plain(
            "登録されたネットワーク構成を読み取れません。記述を確認してください",
            "/network",
        )),
    }
    Ok(())
}
