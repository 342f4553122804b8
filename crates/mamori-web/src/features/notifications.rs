//! Reminders and mail: the outbox page for those who oversee acknowledgements, the "remind
//! now" action, and in the API each person's task list and the reminder run.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mamori_core::permission::{Capability, Reach, can};
use mamori_core::task::Task;
use mamori_db::mail::{self, Mail};
use mamori_db::tasks::{self, ReminderRule, ReminderRun};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::session::CsrfForm;
use crate::session::{Viewer, today_jst};
use crate::views::{Layout, page};
use crate::{AppError, AppState};

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(outbox_page))
        .route("/notifications/remind", post(remind_now))
}

/// API routes.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_tasks))
        .routes(routes!(queue_reminders))
}

/// Reminders go to a whole organisation, so only those who oversee it everywhere send them.
async fn organisation_wide(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Capability<can::ReportAcknowledgements>, AppError> {
    let cap = viewer.can::<can::ReportAcknowledgements>(state).await?;
    if *cap.reach() != Reach::All {
        let denied = mamori_core::permission::Denied {
            action: mamori_core::permission::Action::AckReport,
        };
        return Err(viewer.denied(state, denied, None).await);
    }
    Ok(cap)
}

struct MailRow {
    created: String,
    to: String,
    subject: String,
    status: &'static str,
    error: String,
}

fn row(m: &Mail) -> MailRow {
    let status = match (&m.sent_at, m.attempts >= mail::MAX_ATTEMPTS) {
        (Some(_), _) => "送信済み",
        (None, true) => "送信を断念",
        (None, false) if m.attempts > 0 => "再送待ち",
        (None, false) => "送信待ち",
    };
    MailRow {
        created: crate::views::datetime_ja(&m.created_at),
        to: m.to_addr.clone(),
        subject: m.subject.clone(),
        status,
        error: m.last_error.clone(),
    }
}

/// `?notice=reminders-N` after a reminder run.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    notice: String,
}

impl NoticeQuery {
    fn text(&self) -> Option<String> {
        let n = self
            .notice
            .strip_prefix("reminders-")?
            .parse::<u32>()
            .ok()?;
        Some(if n == 0 {
            "リマインダーの対象となる職員等はいませんでした（本日送信済みの方を含みます）。".into()
        } else {
            format!("{n} 名へのリマインダーを作成しました。順次送信されます。")
        })
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct OutboxPage {
    layout: Layout,
    configured: bool,
    waiting: i64,
    sent: i64,
    given_up: i64,
    mails: Vec<MailRow>,
}

async fn outbox_page(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(notice): axum::extract::Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let cap = organisation_wide(&state, &viewer).await?;
    let (waiting, sent, given_up) = mail::counts(&state.db, cap.org().0).await?;
    let mails = mail::recent(&state.db, cap.org().0, 100).await?;
    page(&OutboxPage {
        layout: Layout::new(&viewer, "メール通知", "/notifications").with_notice(notice.text()),
        configured: state.config.mail.is_some(),
        waiting,
        sent,
        given_up,
        mails: mails.iter().map(row).collect(),
    })
}

#[derive(Deserialize)]
struct RemindForm {
    #[serde(default)]
    scope: String,
}

async fn remind_now(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<RemindForm>,
) -> Result<Response, AppError> {
    let cap = organisation_wide(&state, &viewer).await?;
    let rule = if form.scope == "all" {
        ReminderRule::AnyOpen
    } else {
        ReminderRule::Daily
    };
    let run = queue(&state, &viewer, &cap, rule).await?;
    Ok(Redirect::to(&format!("/notifications?notice=reminders-{}", run.queued)).into_response())
}

/// Queues today's reminders of the viewer's organisation; a conflict when mail is off.
async fn queue(
    state: &AppState,
    viewer: &Viewer,
    cap: &Capability<can::ReportAcknowledgements>,
    rule: ReminderRule,
) -> Result<ReminderRun, AppError> {
    if state.config.mail.is_none() {
        return Err(AppError::Conflict(NOT_CONFIGURED.into()));
    }
    Ok(tasks::queue_reminders(
        &state.db,
        cap.org().0,
        today_jst_date(),
        rule,
        state.config.public_url.as_deref(),
        &viewer.audit_ctx(),
    )
    .await?)
}

const NOT_CONFIGURED: &str = "メール送信（SMTP）が設定されていないため、リマインダーは送れません。作業は各職員のホーム画面に表示されています";

fn today_jst_date() -> time::Date {
    mamori_core::calendar::today_jst()
}

/// The signed-in person's open tasks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TaskList {
    /// Today (YYYY-MM-DD, Japan time).
    today: String,
    /// Tasks, soonest first.
    #[schema(value_type = Vec<Object>)]
    tasks: Vec<Task>,
}

/// The caller's own tasks across mamori (answer, acknowledge, approve, fix, follow up).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    responses((status = 200, description = "自分の作業の一覧", body = TaskList)))]
pub(crate) async fn my_tasks(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Json<TaskList>, AppError> {
    let list = tasks::for_person(
        &state.db,
        viewer.person.org_id,
        viewer.person.id,
        today_jst_date(),
    )
    .await?;
    Ok(Json(TaskList {
        today: today_jst(),
        tasks: list,
    }))
}

/// Which persons a reminder run writes to.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct RemindBody {
    /// `daily` (overdue or due within a week; everything on Mondays) or `all` (anything open).
    #[serde(default)]
    scope: Option<String>,
}

/// Queues today's reminder mail for the organisation (at most one per person and day); the
/// server's mailer delivers it.
#[utoipa::path(post, path = "/api/v1/reminders", tag = "tasks", request_body = RemindBody,
    responses((status = 200, description = "作成したリマインダーの件数"), (status = 403, description = "権限がない"),
        (status = 409, description = "メール送信が設定されていない")))]
pub(crate) async fn queue_reminders(
    State(state): State<AppState>,
    viewer: Viewer,
    body: axum::body::Bytes,
) -> Result<Json<ReminderRun>, AppError> {
    let cap = organisation_wide(&state, &viewer).await?;
    let body: RemindBody = if body.iter().all(u8::is_ascii_whitespace) {
        RemindBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::Unprocessable(crate::error::input_problem_ja(&e.to_string())))?
    };
    let rule = match body.scope.as_deref() {
        None | Some("daily") => ReminderRule::Daily,
        Some("all") => ReminderRule::AnyOpen,
        Some(other) => {
            return Err(AppError::Unprocessable(format!(
                "scope は daily または all です（{other}）"
            )));
        }
    };
    let run = queue(&state, &viewer, &cap, rule).await?;
    Ok(Json(run))
}
