//! What every page shares: the layout (header, navigation by the policy's areas, the viewer),
//! Japanese date display, and turning a template into a response.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use mamori_core::calendar::{self, DateStyle};
use mamori_core::permission::{Action, scope_of};
use time::OffsetDateTime;
use time::macros::offset;

use crate::AppError;
use crate::session::Viewer;

/// One navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Link target.
    pub href: &'static str,
    /// Label.
    pub label: &'static str,
    /// The policy section it serves.
    pub section: &'static str,
    /// Whether it is the current area.
    pub current: bool,
}

/// The frame around every logged-in page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Page title.
    pub title: String,
    /// The viewer's name, unit and organisation, for the header.
    pub who: String,
    /// Organisation name.
    pub org_name: String,
    /// CSRF token for forms on the page (and the logout button).
    pub csrf: String,
    /// Navigation.
    pub nav: Vec<NavItem>,
    /// A one-line notice shown at the top (after a successful change).
    pub notice: Option<String>,
}

impl Layout {
    /// The layout for `viewer`, with `current` marking the active navigation entry.
    pub fn new(viewer: &Viewer, title: impl Into<String>, current: &str) -> Self {
        let may = |a: Action| {
            viewer
                .actor
                .held
                .iter()
                .any(|h| scope_of(h.role, a).is_some())
        };
        let mut nav = vec![
            NavItem {
                href: "/",
                label: "ホーム",
                section: "",
                current: false,
            },
            NavItem {
                href: "/policy",
                label: "情報セキュリティポリシー",
                section: "§1–10",
                current: false,
            },
            NavItem {
                href: "/org",
                label: "組織・職員",
                section: "§4・§6(1)",
                current: false,
            },
        ];
        if may(Action::AssetView) {
            nav.push(NavItem {
                href: "/inventory",
                label: "情報資産",
                section: "§6(2)",
                current: false,
            });
        }
        if may(Action::NetworkView) {
            nav.push(NavItem {
                href: "/network",
                label: "ネットワーク構成",
                section: "§6(3)",
                current: false,
            });
        }
        nav.push(NavItem {
            href: "/standards",
            label: "対策基準",
            section: "§9",
            current: false,
        });
        if may(Action::ExceptionView) {
            nav.push(NavItem {
                href: "/exceptions",
                label: "例外措置",
                section: "2-7",
                current: false,
            });
        }
        if may(Action::AuditView) {
            nav.push(NavItem {
                href: "/audit",
                label: "監査証跡",
                section: "§6(7)",
                current: false,
            });
        }
        if may(Action::AuditResultView) || may(Action::AuditPlan) || may(Action::AuditWork) {
            nav.push(NavItem {
                href: "/audits",
                label: "情報セキュリティ監査",
                section: "§7",
                current: false,
            });
        }
        nav.push(NavItem {
            href: "/documents",
            label: "ポリシー文書",
            section: "§5・§8–10",
            current: false,
        });
        nav.push(NavItem {
            href: "/inspections",
            label: "自己点検",
            section: "§7",
            current: false,
        });
        nav.push(NavItem {
            href: "/account",
            label: "アカウント",
            section: "§6(6)",
            current: false,
        });
        for item in &mut nav {
            item.current = item.href == current;
        }
        let unit = viewer.tree.full_name(viewer.person.unit_id);
        Layout {
            title: title.into(),
            who: format!("{}（{}）", viewer.person.name, unit),
            org_name: viewer.org.name.clone(),
            csrf: viewer.csrf().to_owned(),
            nav,
            notice: None,
        }
    }

    /// Adds a notice.
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// Renders a template as an HTML response.
pub fn page(t: &impl Template) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// Shows a stored date (YYYY-MM-DD) in 和暦 with 西暦 in brackets: 令和8年4月1日（2026年）.
pub fn date_ja(iso: &str) -> String {
    match calendar::parse_date(iso) {
        Ok(d) => format!(
            "{}（{}年）",
            calendar::format_date(d, DateStyle::Wareki),
            d.year()
        ),
        Err(_) => iso.to_owned(),
    }
}

/// Shows a stored UTC timestamp in Japan time: 令和8年4月1日 09:30.
pub fn datetime_ja(stored: &str) -> String {
    let Some(t) = mamori_db::parse_timestamp(stored) else {
        return stored.to_owned();
    };
    let t: OffsetDateTime = t.to_offset(offset!(+9));
    format!(
        "{} {:02}:{:02}",
        calendar::format_date(t.date(), DateStyle::Wareki),
        t.hour(),
        t.minute()
    )
}

/// Shows a stored UTC timestamp in Japan time, in 西暦 with seconds (tables, exports).
pub fn datetime_iso_jst(stored: &str) -> String {
    let Some(t) = mamori_db::parse_timestamp(stored) else {
        return stored.to_owned();
    };
    let t: OffsetDateTime = t.to_offset(offset!(+9));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_show_in_wareki_with_seireki() {
        assert_eq!(date_ja("2026-04-01"), "令和8年4月1日（2026年）");
        assert_eq!(date_ja("not a date"), "not a date");
    }

    #[test]
    fn timestamps_show_in_japan_time() {
        assert_eq!(
            datetime_ja("2026-03-31T15:30:00.000000Z"),
            "令和8年4月1日 00:30"
        );
        assert_eq!(
            datetime_iso_jst("2026-03-31T15:30:05.000000Z"),
            "2026-04-01 00:30:05"
        );
    }
}
