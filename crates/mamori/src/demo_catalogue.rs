//! Demo data of the standards catalogue and exceptions: the guideline's clauses seeded, a
//! handful of controls in every state (one with evidence, one under an exception), and two
//! exceptions — an approved one that the asset register cites (J-MED-002, the 総務課 USB memory)
//! and an emergency one of the 通信指令課 still waiting for the CISO's review, ending soon.
//! Periods are set around the day the demo is loaded, so the demo stays current.

use mamori_core::calendar::today_jst;
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::Db;
use mamori_db::catalogue::{self, ControlInput, ControlStatus, evidence};
use mamori_db::exceptions::{self, ApplyInput};
use mamori_db::org::{self, AuditCtx};
use time::Duration;

/// The reference numbers of the two demo exceptions: (approved, emergency).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The approved exception cited by J-MED-002.
    pub approved: String,
    /// The emergency exception waiting for the CISO.
    pub emergency: String,
}

/// The actor's capability for `P` (the demo loader plays each role itself, so the audit trail
/// names who did what).
fn acting<P: mamori_core::permission::Permission>(
    actor: &mamori_core::permission::Actor,
) -> anyhow::Result<Capability<P>> {
    actor
        .can::<P>()
        .map_err(|e| anyhow::anyhow!("demo role missing: {e}"))
}

async fn actor_of(
    db: &Db,
    org: OrgId,
    tree: &org::UnitTree,
    login: &str,
) -> anyhow::Result<(i64, mamori_core::permission::Actor, AuditCtx)> {
    let person = org::person_by_login(db, login)
        .await?
        .filter(|p| p.org_id == org.0)
        .ok_or_else(|| anyhow::anyhow!("demo person {login} missing"))?;
    let day = mamori_core::calendar::format_iso(today_jst());
    let actor = org::actor(db, &person, tree, &day).await?;
    let ctx = AuditCtx {
        org_id: Some(org.0),
        actor_id: Some(person.id),
        actor: login.to_owned(),
        request_id: None,
    };
    Ok((person.id, actor, ctx))
}

/// Loads the catalogue and the two exceptions, and makes J-MED-002 cite the approved one.
pub async fn load(db: &Db, org_id: i64, ctx: &AuditCtx) -> anyhow::Result<Loaded> {
    let org = OrgId(org_id);
    let tree = org::unit_tree(db, org).await?;
    let today = today_jst();
    let unit = |code: &str| {
        tree.by_code(code)
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("demo unit {code} missing"))
    };

    // The approved exception: 総務課 keeps using an unencrypted USB memory for the hand-over of
    // public documents to the printer, under conditions.
    let (_, tokatsu_actor, tokatsu_ctx) = actor_of(db, org, &tree, "tokatsu").await?;
    let (_, vciso_actor, vciso_ctx) = actor_of(db, org, &tree, "vciso").await?;
    let (_, ciso_actor, ciso_ctx) = actor_of(db, org, &tree, "ciso").await?;
    let (_, shirei_actor, shirei_ctx) = actor_of(db, org, &tree, "shirei.kacho").await?;
    let mut tx = db.begin_write().await?;
    catalogue::seed_in(&mut tx, org_id).await?;
    let apply_cap = acting::<can::ApplyExceptions>(&tokatsu_actor)?;
    let approved_id = exceptions::apply(
        &mut tx,
        &apply_cap,
        &tokatsu_ctx,
        &tree,
        &ApplyInput {
            clause_no: "2-4-4".into(),
            reason: "広報誌の版下データを印刷事業者へ渡す際、事業者の受入れ端末が暗号化USBメモリに対応していないため。".into(),
            scope: "事務局 総務課（広報担当）の USB メモリ 1 本".into(),
            asset_no: "J-MED-002".into(),
            compensating: "公開予定の情報に限って保存する。受渡し後は直ちに完全消去し、持出し記録を付ける。".into(),
            valid_from: Some(today - Duration::days(60)),
            valid_to: Some(today + Duration::days(240)),
            emergency: false,
            unit_id: unit("jimu-somu")?,
        },
        today,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo exception: {e}"))?;
    let endorse_cap = acting::<can::EndorseExceptions>(&vciso_actor)?;
    exceptions::endorse(
        &mut tx,
        &endorse_cap,
        &vciso_ctx,
        &tree,
        approved_id,
        true,
        "業務上やむを得ない。代替措置を確認した。",
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo endorsement: {e}"))?;
    let decide_cap = acting::<can::DecideExceptions>(&ciso_actor)?;
    let approved = exceptions::decide(
        &mut tx,
        &decide_cap,
        &ciso_ctx,
        approved_id,
        true,
        "機密性2以上の情報を保存しないこと。使用の都度、持出し記録を付けること。",
        "",
        today,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo decision: {e}"))?
    .ok_or_else(|| anyhow::anyhow!("demo exception got no reference"))?;

    // The emergency exception: the 指令システム's pattern-file updates were paused for a vendor
    // fix; the 通信指令課 acted first and reports after.
    let shirei_cap = acting::<can::ApplyExceptions>(&shirei_actor)?;
    let emergency_id = exceptions::apply(
        &mut tx,
        &shirei_cap,
        &shirei_ctx,
        &tree,
        &ApplyInput {
            clause_no: "2-6-4".into(),
            reason: "指令システムの不具合修正を待つ間、ウイルス対策ソフトのパターンファイル自動更新を停止した（119番受付への影響を避けるため）。".into(),
            scope: "高機能消防指令システムの指令台端末 4 台".into(),
            asset_no: "S-SYS-001".into(),
            compensating: "外部媒体の接続を禁止し、毎日手動で更新の可否を確認する。".into(),
            valid_from: Some(today - Duration::days(5)),
            valid_to: Some(today + Duration::days(20)),
            emergency: true,
            unit_id: unit("shobo-shirei")?,
        },
        today,
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo emergency exception: {e}"))?;
    let emergency: Option<String> =
        sqlx::query_scalar("SELECT ref_no FROM exception_request WHERE id = $1 AND org_id = $2")
            .bind(emergency_id)
            .bind(org_id)
            .fetch_one(&mut *tx)
            .await?;
    let emergency = emergency.ok_or_else(|| anyhow::anyhow!("demo emergency has no reference"))?;

    // Controls in every state.
    let controls = Capability::<can::EditControls>::operator(org);
    let clause_id = |number: &'static str| async move {
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM std_clause WHERE org_id = $1 AND number = $2")
                .bind(org_id)
                .bind(number)
                .fetch_one(db.pool())
                .await?;
        anyhow::Ok(id)
    };
    tx.commit().await?;
    let plan: [(&str, &str, &str, ControlStatus, &str); 6] = [
        (
            "2-2-2",
            "情報資産管理台帳を整備し、年1回確認する",
            "jimu-somu",
            ControlStatus::Done,
            "",
        ),
        (
            "2-4-2",
            "サーバ室の入退室記録を付ける",
            "jimu-somu-joho",
            ControlStatus::InProgress,
            "",
        ),
        (
            "2-4-4",
            "USBメモリは暗号化機能付きのものに限る",
            "jimu-somu",
            ControlStatus::Excepted,
            approved.as_str(),
        ),
        (
            "2-5-2",
            "全職員が年1回の情報セキュリティ研修を受講する",
            "jimu-somu",
            ControlStatus::InProgress,
            "",
        ),
        (
            "2-6-4",
            "ウイルス対策ソフトのパターンファイルを自動更新する",
            "shobo-shirei",
            ControlStatus::NotStarted,
            "",
        ),
        (
            "2-8-1",
            "委託契約に情報セキュリティ条項（13項目）を入れる",
            "jimu-zaimu",
            ControlStatus::NotStarted,
            "",
        ),
    ];
    let mut tx = db.begin_write().await?;
    let mut first_done = None;
    for (number, title, code, status, reference) in plan {
        let cid = clause_id(number).await?;
        let id = catalogue::create_control(
            &mut tx,
            &controls,
            ctx,
            &tree,
            cid,
            &ControlInput {
                title: title.into(),
                unit_id: unit(code)?,
                status,
                exception_ref: reference.into(),
                note: String::new(),
            },
            today,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo control {number}: {e}"))?;
        if status == ControlStatus::Done && first_done.is_none() {
            first_done = Some(id);
        }
    }
    if let Some(id) = first_done {
        let text = "情報資産管理台帳 確認記録\n確認日: 令和8年4月24日\n確認者: 総務課長\n全件を確認し、分類の誤りなし。\n";
        evidence::add(
            &mut tx,
            &controls,
            ctx,
            &tree,
            id,
            "",
            "台帳確認記録.txt",
            text.as_bytes(),
            evidence::DEFAULT_MAX_EVIDENCE_BYTES,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo evidence: {e}"))?;
    }
    tx.commit().await?;
    // The asset register cites the approved exception (saved as any edit is: checked, audited).
    let assets_cap = Capability::<can::EditAssets>::operator(org);
    let asset = mamori_db::assets::by_number(db, &assets_cap, &tree, "J-MED-002").await?;
    let mut input = asset
        .input()
        .ok_or_else(|| anyhow::anyhow!("demo asset J-MED-002 does not read"))?;
    input.exception_ref = approved.clone();
    let mut tx = db.begin_write().await?;
    mamori_db::assets::update(&mut tx, &assets_cap, ctx, &tree, asset.id, None, &input)
        .await
        .map_err(|e| anyhow::anyhow!("demo asset J-MED-002: {e}"))?;
    tx.commit().await?;
    Ok(Loaded {
        approved,
        emergency,
    })
}
