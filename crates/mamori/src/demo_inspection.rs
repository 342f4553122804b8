//! The demo organisation's 自己点検: last 年度's campaign finished (answered, closed, its
//! improvement items done) and this 年度's open, about half answered, so the roll-up, the charts,
//! the improvement items and the answering pages all have something to show.

use mamori_core::calendar::{FiscalYear, today_jst};
use mamori_core::inspection::{AnswerValue, Group};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::Db;
use mamori_db::inspection::{self, AnswerInput, CampaignInput, ImprovementInput};
use mamori_db::org::{self, AuditCtx};
use time::{Date, Duration, Month};

/// A fixed pseudo-random answer for a person and question: mostly 実施, some shortfalls.
fn pick(person: i64, seq: i64, year: i64) -> AnswerValue {
    let h = (person * 7919 + seq * 104_729 + year * 31) % 100;
    match h {
        0..=71 => AnswerValue::Done,
        72..=83 => AnswerValue::Partial,
        84..=91 => AnswerValue::NotDone,
        _ => AnswerValue::NotApplicable,
    }
}

/// Answers every question of `rid` and, when `submit`, submits it.
#[allow(clippy::too_many_arguments)]
async fn answer(
    db: &Db,
    org: OrgId,
    ctx: &AuditCtx,
    campaign: i64,
    rid: i64,
    person: i64,
    group: &str,
    day: Date,
    submit: bool,
) -> anyhow::Result<()> {
    let questions = inspection::questions(db, org, campaign).await?;
    let inputs: Vec<AnswerInput> = questions
        .iter()
        .filter(|q| q.grp == group)
        .map(|q| {
            let v = pick(person, q.seq, campaign);
            let short = v.non_conforming();
            AnswerInput {
                question_id: q.id,
                answer: v.code().to_owned(),
                comment: if short {
                    "対応が追いついていない".to_owned()
                } else {
                    String::new()
                },
                plan: if short {
                    "課内で手順を見直し、次回の会議で周知する".to_owned()
                } else {
                    String::new()
                },
                due: if short {
                    mamori_core::calendar::format_iso(day.saturating_add(Duration::days(90)))
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let mut tx = db.begin_write().await?;
    inspection::save_answers(&mut tx, org, ctx, person, rid, day, &inputs)
        .await
        .map_err(|e| anyhow::anyhow!("demo answers: {}", e.message()))?;
    if submit {
        inspection::submit(&mut tx, org, ctx, person, rid, day)
            .await
            .map_err(|e| anyhow::anyhow!("demo submission: {}", e.message()))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Loads both campaigns; returns their ids (last 年度's, this 年度's).
pub async fn load(db: &Db, org_id: i64, ctx: &AuditCtx) -> anyhow::Result<(i64, i64)> {
    let org = OrgId(org_id);
    let tree = org::unit_tree(db, org).await?;
    let cap = Capability::<can::ManageInspections>::operator(org);
    let today = today_jst();
    let this_year = FiscalYear::of(today);
    let last_year = this_year.previous().unwrap_or(this_year);
    let june = |y: i32, d: u8| Date::from_calendar_date(y, Month::June, d);

    // Last 年度: June, everyone answered, closed, its improvement items done.
    let (start, end) = (june(last_year.year(), 1)?, june(last_year.year(), 30)?);
    let input = CampaignInput {
        name: format!("{} 情報セキュリティ自己点検", last_year.label_wareki()),
        fiscal_year: i64::from(last_year.year()),
        start_on: start,
        end_on: end,
        groups: vec![Group::Staff, Group::Manager, Group::SystemManager],
        units: Vec::new(),
    };
    let mut tx = db.begin_write().await?;
    let past = inspection::create(&mut tx, &cap, ctx, &tree, &input)
        .await
        .map_err(|e| anyhow::anyhow!("demo campaign: {}", e.message()))?;
    // Respondents as of its start (role assignments of that day).
    inspection::open(&mut tx, &cap, ctx, &tree, past, start)
        .await
        .map_err(|e| anyhow::anyhow!("demo campaign: {}", e.message()))?;
    tx.commit().await?;
    let answered_on = june(last_year.year(), 15)?;
    let (persons, _) = org::list_persons(db, org, &org::PersonFilter::default(), 0, 10_000).await?;
    for p in &persons {
        for r in inspection::respondents_of(db, org, p.id, Some(past)).await? {
            answer(db, org, ctx, past, r.id, p.id, &r.grp, answered_on, true).await?;
        }
    }
    let mut tx = db.begin_write().await?;
    inspection::close(&mut tx, &cap, ctx, past)
        .await
        .map_err(|e| anyhow::anyhow!("demo campaign: {}", e.message()))?;
    let fix = Capability::<can::EditCorrectiveActions>::operator(org);
    for item in inspection::improvements(db, &fix, &tree, past).await? {
        let input = ImprovementInput {
            status: "done".into(),
            plan: if item.plan.is_empty() {
                "課内研修で手順を再確認した".into()
            } else {
                item.plan.clone()
            },
            due: item.due_on.clone().unwrap_or_default(),
            note: "年度内に対応を完了".into(),
            version: None,
        };
        inspection::update_improvement(&mut tx, &fix, ctx, &tree, item.id, &input)
            .await
            .map_err(|e| anyhow::anyhow!("demo improvement: {}", e.message()))?;
    }
    tx.commit().await?;

    // This 年度: open now for a month; about half have answered.
    let input = CampaignInput {
        name: format!("{} 情報セキュリティ自己点検", this_year.label_wareki()),
        fiscal_year: i64::from(this_year.year()),
        start_on: today.saturating_sub(Duration::days(14)),
        end_on: today.saturating_add(Duration::days(30)),
        groups: vec![Group::Staff, Group::Manager, Group::SystemManager],
        units: Vec::new(),
    };
    let mut tx = db.begin_write().await?;
    let current = inspection::create(&mut tx, &cap, ctx, &tree, &input)
        .await
        .map_err(|e| anyhow::anyhow!("demo campaign: {}", e.message()))?;
    inspection::open(&mut tx, &cap, ctx, &tree, current, today)
        .await
        .map_err(|e| anyhow::anyhow!("demo campaign: {}", e.message()))?;
    tx.commit().await?;
    // The showcase logins keep their task to answer; others have answered (or started to).
    let keep_open = [
        "ciso",
        "tokatsu",
        "sysadmin",
        "somu",
        "zaimu.kacho",
        "kansa",
    ];
    for (i, p) in persons.iter().enumerate() {
        if keep_open.contains(&p.login.as_str()) {
            continue;
        }
        for r in inspection::respondents_of(db, org, p.id, Some(current)).await? {
            match i % 3 {
                0 | 1 => answer(db, org, ctx, current, r.id, p.id, &r.grp, today, true).await?,
                _ => {}
            }
        }
    }
    Ok((past, current))
}
