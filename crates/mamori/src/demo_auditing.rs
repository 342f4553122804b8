//! The demo's 情報セキュリティ監査: this 年度's audit plan and one engagement of 慈生園 in
//! follow-up — fieldwork recorded, three findings (中 with its corrective action under way,
//! 軽微 reported done and awaiting the auditor's confirmation, an observation), so the audit
//! pages, the report, the export and the auditor's and 係長's tasks all have something to show.
//! Everything goes through the same repository functions as the web, with the people's own
//! capabilities (the auditor records; each 係長 plans their unit's action).

use mamori_core::auditing::{ActionStatus, EngagementStatus, ItemResult, PlanKind, Severity};
use mamori_core::calendar::{FiscalYear, format_iso, today_jst};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, Permission, can};
use mamori_db::Db;
use mamori_db::auditing::{self, ActionInput, EngagementInput, FindingInput, ItemInput, PlanInput};
use mamori_db::org::{self, AuditCtx, Person, UnitTree};

/// A person's capability for `P`, as the web would grant it today.
async fn cap_of<P: Permission>(
    db: &Db,
    tree: &UnitTree,
    person: &Person,
) -> anyhow::Result<Capability<P>> {
    let actor = org::actor(db, person, tree, &format_iso(today_jst())).await?;
    actor
        .can::<P>()
        .map_err(|d| anyhow::anyhow!("demo audit: {} may not: {d}", person.login))
}

fn ctx_of(base: &AuditCtx, p: &Person) -> AuditCtx {
    AuditCtx {
        org_id: base.org_id,
        actor_id: Some(p.id),
        actor: p.login.clone(),
        request_id: base.request_id.clone(),
    }
}

/// Loads the demo audit; returns the engagement's id.
pub async fn load(db: &Db, org_id: i64, ctx: &AuditCtx) -> anyhow::Result<i64> {
    let org = OrgId(org_id);
    let tree = org::unit_tree(db, org).await?;
    let persons = org::all_persons(db, org).await?;
    let who = |login: &str| {
        persons
            .iter()
            .find(|p| p.login == login)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("demo audit: no person {login}"))
    };
    let unit = |code: &str| {
        tree.by_code(code)
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("demo audit: no unit {code}"))
    };
    let today = today_jst();
    let fy = FiscalYear::of(today);
    let tokatsu = who("tokatsu")?;
    let auditor = who("kansa")?;
    let planner = cap_of::<can::PlanAudits>(db, &tree, &tokatsu).await?;
    let conduct = cap_of::<can::ConductAudits>(db, &tree, &auditor).await?;
    let plan_ctx = ctx_of(ctx, &tokatsu);
    let audit_ctx = ctx_of(ctx, &auditor);

    let mut tx = db.begin_write().await?;
    let plan = auditing::create_plan(
        &mut tx,
        &planner,
        &plan_ctx,
        &tree,
        &PlanInput {
            kind: PlanKind::Annual,
            title: format!("{} 情報セキュリティ監査計画", fy.label_wareki()),
            fiscal_year: i64::from(fy.year()),
            last_year: i64::from(fy.year()),
            purpose: "対策基準の遵守状況を各所属で確かめ、結果を情報セキュリティ委員会に報告する。"
                .to_owned(),
            ordered_by: None,
            ordered_on: None,
            order_note: String::new(),
        },
        today,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo audit plan: {e:?}"))?;
    let starts = (today - time::Duration::days(45)).max(fy.start());
    let ends = (starts + time::Duration::days(14)).min(fy.end());
    let engagement = auditing::create_engagement(
        &mut tx,
        &planner,
        &plan_ctx,
        &tree,
        plan,
        &EngagementInput {
            title: "慈生園の情報セキュリティ監査".to_owned(),
            starts_on: Some(starts),
            ends_on: Some(ends),
            units: vec![unit("jiseien")?],
            systems: vec!["K-SYS-001".to_owned()],
            criteria: vec!["2-4-4".to_owned(), "2-5-1".to_owned(), "2-6-1".to_owned()],
            auditors: vec![auditor.id],
            note: "内部監査（監査人 井上）。介護記録システムを含む。".to_owned(),
        },
        today,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo audit engagement: {e:?}"))?;
    for to in [EngagementStatus::Planning, EngagementStatus::Fieldwork] {
        auditing::advance(&mut tx, &planner, &plan_ctx, engagement, to)
            .await
            .map_err(|e| anyhow::anyhow!("demo audit status: {e:?}"))?;
    }
    let items: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, clause FROM auditing_item WHERE engagement_id = $1 ORDER BY position",
    )
    .bind(engagement)
    .fetch_all(&mut *tx)
    .await?;
    let item_of = |clause: &str| items.iter().find(|(_, c)| c == clause).map(|(id, _)| *id);
    let records = [
        (
            "2-4-4",
            "職員の端末の設置状況、離席時の画面ロック、記録媒体の保管庫を現地で確認",
            ItemResult::Nonconform,
            "看護係の詰所で、離席中にロックされていない端末が1台あった。",
        ),
        (
            "2-5-1",
            "持出簿・USBメモリ管理台帳と職員への聞取り",
            ItemResult::Nonconform,
            "生活支援係でUSBメモリの持出し記録が2件なかった。",
        ),
        (
            "2-6-1",
            "介護記録システムのバックアップ取得記録と復元手順を確認",
            ItemResult::Observation,
            "バックアップは日次で取得されているが、復元訓練の記録は見当たらない。",
        ),
    ];
    for (clause, examined, result, notes) in records {
        let Some(item) = item_of(clause) else {
            continue;
        };
        auditing::record_item(
            &mut tx,
            &conduct,
            &audit_ctx,
            engagement,
            item,
            &ItemInput {
                question: None,
                examined: examined.to_owned(),
                result,
                notes: notes.to_owned(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo audit fieldwork: {e:?}"))?;
    }
    let findings = [
        (
            Severity::Moderate,
            "2-5-1",
            "jiseien-shien",
            "USBメモリの持出しについて、許可と持出簿への記録がない事例が2件あった。",
            "持出簿（令和8年度）、USBメモリ管理台帳、係員への聞取り",
        ),
        (
            Severity::Minor,
            "2-4-4",
            "jiseien-kango",
            "離席時に画面がロックされていない端末があった。",
            "現地確認（看護係 詰所）",
        ),
        (
            Severity::Observation,
            "2-6-1",
            "jiseien-kanri",
            "介護記録システムのバックアップからの復元訓練の記録が残されていない。",
            "システム運用記録",
        ),
    ];
    let mut ids = Vec::new();
    for (severity, clause, code, description, evidence) in findings {
        let id = auditing::create_finding(
            &mut tx,
            &conduct,
            &audit_ctx,
            &tree,
            engagement,
            &FindingInput {
                severity,
                clause: clause.to_owned(),
                unit_id: unit(code)?,
                description: description.to_owned(),
                evidence: evidence.to_owned(),
                item_id: item_of(clause),
                file: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo audit finding: {e:?}"))?;
        ids.push(id);
    }
    for to in [EngagementStatus::Reporting, EngagementStatus::FollowUp] {
        auditing::advance(&mut tx, &planner, &plan_ctx, engagement, to)
            .await
            .map_err(|e| anyhow::anyhow!("demo audit status: {e:?}"))?;
    }
    // Corrective actions: 生活支援係 under way, 看護係 reported done.
    let actions = [
        (
            ids.first().copied(),
            "shien.kakaricho",
            30,
            "持出しは係長の許可制とし、持出簿の記入を毎週確認する。係内で手順を周知する。",
            ActionStatus::InProgress,
            "持出簿の様式を改め、係内会議で周知した。運用状況を確認中。",
        ),
        (
            ids.get(1).copied(),
            "kango.kakaricho",
            14,
            "全端末に5分の自動画面ロックを設定し、離席時のロックを周知する。",
            ActionStatus::Reported,
            "全端末に自動画面ロックを設定し、係員全員に周知した。",
        ),
    ];
    for (finding, login, days, plan_text, status, note) in actions {
        let Some(finding) = finding else { continue };
        let owner = who(login)?;
        let cap = cap_of::<can::EditCorrectiveActions>(db, &tree, &owner).await?;
        let owner_ctx = ctx_of(ctx, &owner);
        let action = auditing::plan_action(
            &mut tx,
            &cap,
            &owner_ctx,
            &tree,
            finding,
            &ActionInput {
                owner_id: owner.id,
                due_on: Some(today + time::Duration::days(days)),
                plan: plan_text.to_owned(),
            },
            today,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo audit action: {e:?}"))?;
        auditing::update_action(&mut tx, &cap, &owner_ctx, &tree, action, status, note)
            .await
            .map_err(|e| anyhow::anyhow!("demo audit action update: {e:?}"))?;
    }
    tx.commit().await?;
    Ok(engagement)
}
