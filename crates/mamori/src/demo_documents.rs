//! Demo policy documents for `serve --demo`: besides the shipped 基本方針 structure (published
//! version 1, stored by `demo.rs`), a 対策基準 approved by the CISO with the 委員会's decision
//! and published, two 実施手順 with their reader lists (one published, one awaiting approval),
//! acknowledgements by part of the staff, and an approved review record. The texts are short
//! examples written for mamori, not any government's wording.

use mamori_core::document::{DocKind, Level, ReaderRule, ReviewSource};
use mamori_core::org::{OrgId, UnitId};
use mamori_core::permission::can;
use mamori_core::role::Role;
use mamori_db::Db;
use mamori_db::documents::{self, Committee, NewDocument, ReviewInputFields};
use mamori_db::org::{self, AuditCtx, UnitTree};

const STANDARD: &str = "情報セキュリティ対策基準（例）\n\
\n\
2-1 組織体制\n\
最高情報セキュリティ責任者（CISO）は副管理者をもって充てる。\n\
統括情報セキュリティ責任者は総務課長をもって充てる。\n\
\n\
2-2 情報資産の分類と管理\n\
情報資産は機密性・完全性・可用性により分類し、分類に応じて取り扱う。\n\
機密性2以上の情報を庁外へ持ち出すときは、情報セキュリティ管理者の許可を得る。\n\
\n\
2-5 人的セキュリティ\n\
職員等は年1回以上、情報セキュリティ研修を受講する。\n";

const NETWORK_PROCEDURE: &str = "ネットワーク管理実施手順（例）\n\
\n\
1. 対象\n\
庁内のLGWAN接続系ネットワークと、その境界の機器。\n\
\n\
2. 設定変更\n\
設定変更は情報システム管理者が承認し、作業記録に残す。\n\
変更前の設定は必ず保存する。\n\
\n\
3. ログの確認\n\
境界の機器のログは毎週確認し、不審な通信は統括情報セキュリティ責任者に報告する。\n";

const DISPATCH_PROCEDURE: &str = "消防指令システム運用手順（例・改定作業中）\n\
\n\
1. 障害時の連絡\n\
指令システムが止まったときは、通信指令課長と情報システム担当に直ちに連絡する。\n";

fn ctx_for(person: &org::Person) -> AuditCtx {
    AuditCtx {
        org_id: Some(person.org_id),
        actor_id: Some(person.id),
        actor: person.login.clone(),
        request_id: None,
    }
}

/// Loads the demo documents into the organisation.
pub async fn load(db: &Db, org_id: i64, today: &str) -> anyhow::Result<()> {
    let oid = OrgId(org_id);
    let tree: UnitTree = org::unit_tree(db, oid).await?;
    let person = |login: &'static str| async move {
        org::person_by_login(db, login)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo person {login} missing"))
    };
    let tokatsu = person("tokatsu").await?;
    let ciso = person("ciso").await?;
    let editor = org::actor(db, &tokatsu, &tree, today).await?;
    let approver = org::actor(db, &ciso, &tree, today).await?;
    let edit = editor
        .can::<can::EditPolicy>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let approve = approver
        .can::<can::ApprovePolicy>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (t_ctx, c_ctx) = (ctx_for(&tokatsu), ctx_for(&ciso));
    let unit = |code: &str| tree.by_code(code).map(|u| UnitId(u.id));

    let mut tx = db.begin_write().await?;
    let publish = async |tx: &mut mamori_db::AnyConnection,
                         kind: DocKind,
                         title: &str,
                         summary: &str,
                         body: &str,
                         readers: Vec<ReaderRule>,
                         finish: bool|
           -> anyhow::Result<i64> {
        let id = documents::create(
            tx,
            &edit,
            &t_ctx,
            &tree,
            &NewDocument {
                kind,
                title: title.to_owned(),
                summary: summary.to_owned(),
                body: body.to_owned(),
                readers,
            },
        )
        .await?;
        if finish {
            let v = version_id(tx, org_id, id).await?;
            documents::submit(tx, &edit, &t_ctx, v).await?;
            let committee = Committee {
                date: mamori_core::calendar::parse_date("2026-03-25").ok(),
                reference: "令和7年度第3回情報セキュリティ委員会".to_owned(),
            };
            documents::approve(tx, &approve, &c_ctx, v, &committee).await?;
            documents::publish(tx, &edit, &t_ctx, v).await?;
        }
        Ok(id)
    };
    let standard = publish(
        &mut tx,
        DocKind::Standard,
        "情報セキュリティ対策基準",
        "組合全体",
        STANDARD,
        Vec::new(),
        true,
    )
    .await?;
    publish(
        &mut tx,
        DocKind::Procedure,
        "ネットワーク管理実施手順",
        "LGWAN接続系ネットワーク（情報政策係）",
        NETWORK_PROCEDURE,
        vec![
            ReaderRule {
                unit: unit("jimu-somu-joho"),
                role: None,
            },
            ReaderRule {
                unit: None,
                role: Some(Role::SystemManager),
            },
        ],
        true,
    )
    .await?;
    let dispatch = publish(
        &mut tx,
        DocKind::Procedure,
        "消防指令システム運用手順",
        "消防指令システム（通信指令課）",
        DISPATCH_PROCEDURE,
        vec![ReaderRule {
            unit: unit("shobo-shirei"),
            role: None,
        }],
        false,
    )
    .await?;
    // Submitted for the CISO's approval: the demo CISO finds it among their tasks.
    let draft = version_id(&mut tx, org_id, dispatch).await?;
    documents::submit(&mut tx, &edit, &t_ctx, draft).await?;

    // About half of 事務局 has acknowledged the 基本方針 and the 対策基準.
    let persons = org::all_persons(db, oid).await?;
    let jimu = unit("jimu");
    let to_ack: Vec<i64> = sqlx::query_scalar(
        "SELECT v.id FROM document_version v JOIN document d ON d.id = v.document_id \
         WHERE v.org_id = $1 AND v.status = 'published' AND d.kind IN ('basic_policy', 'standard')",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await?;
    for (i, p) in persons
        .iter()
        .filter(|p| p.status == "active")
        .filter(|p| jimu.is_some_and(|j| tree.path(p.unit_id).contains(&j)))
        .enumerate()
    {
        if i % 2 == 1 {
            continue;
        }
        let actor = org::actor(db, p, &tree, today).await?;
        let view = actor
            .can::<can::ViewPolicy>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for v in &to_ack {
            documents::acknowledge(&mut tx, &view, &ctx_for(p), *v).await?;
        }
    }

    // A review after last year's audit, approved, which produced the 対策基準.
    let review = documents::open_review(
        &mut tx,
        &edit,
        &t_ctx,
        &ReviewInputFields {
            title: "令和7年度 監査・自己点検の結果による見直し".to_owned(),
            source: ReviewSource::AuditFinding,
            summary: "令和7年度の内部監査と自己点検の結果を受け、対策基準を見直した。".to_owned(),
            decisions: "持出しの許可手続を対策基準に明記する。\n研修の受講を年1回以上とする。"
                .to_owned(),
        },
    )
    .await?;
    documents::add_review_input(
        &mut tx,
        &edit,
        &t_ctx,
        review,
        ReviewSource::AuditFinding,
        "R7内部監査 指摘2（持出しの記録漏れ）",
        "USBメモリの持出しに許可の記録がない例があった。",
    )
    .await?;
    documents::add_review_input(
        &mut tx,
        &edit,
        &t_ctx,
        review,
        ReviewSource::SelfInspection,
        "R7自己点検 人的セキュリティ",
        "研修未受講の職員が一部にあった。",
    )
    .await?;
    let level = |n| Level::new(n).ok_or_else(|| anyhow::anyhow!("level {n}"));
    documents::add_review_threat(
        &mut tx,
        &edit,
        &t_ctx,
        review,
        "accidental",
        level(3)?,
        level(2)?,
        "持出しの記録漏れが続けば、紛失時に追跡できない。",
    )
    .await?;
    documents::link_review_output(&mut tx, &edit, &t_ctx, review, standard, 1).await?;
    documents::submit_review(&mut tx, &edit, &t_ctx, review).await?;
    documents::approve_review(
        &mut tx,
        &approve,
        &c_ctx,
        review,
        "決定事項のとおり改める。",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn version_id(
    tx: &mut mamori_db::AnyConnection,
    org: i64,
    document: i64,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM document_version WHERE org_id = $1 AND document_id = $2 ORDER BY version_no DESC LIMIT 1",
    )
    .bind(org)
    .bind(document)
    .fetch_one(&mut *tx)
    .await?;
    Ok(id)
}
