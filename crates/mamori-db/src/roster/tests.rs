//! Roster import against a real SQLite file: parsing, matching, the plan, and its application.

use mamori_core::org::UnitId;
use mamori_tabular::ExportTable;
use time::macros::date;

use super::*;
use crate::migrate;
use crate::org::UnitInput;

const EFFECTIVE: Date = date!(2026 - 04 - 01);
const HEADER: &str =
    "職員番号,氏名,ふりがな,ログインID,所属コード,雇用形態,メールアドレス,電話番号,在職状況,役割";

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    cap: Capability<can::ImportRoster>,
    ctx: AuditCtx,
    units: HashMap<&'static str, i64>,
    persons: HashMap<&'static str, i64>,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        migrate::run(&db).await.unwrap();
        let ctx = AuditCtx {
            org_id: None,
            actor_id: None,
            actor: "test".into(),
            request_id: None,
        };
        let mut tx = db.begin_write().await.unwrap();
        let (org_id, root) = org::create_organisation(&mut tx, &ctx, "KYONAN", "峡南広域行政組合")
            .await
            .unwrap();
        let cap = Capability::<can::ImportRoster>::operator(OrgId(org_id));
        let ctx = AuditCtx {
            org_id: Some(org_id),
            ..ctx
        };
        let mut units = HashMap::new();
        units.insert("KYONAN", root);
        for (code, name, kind, parent, active) in [
            ("JIMU", "事務局", "body", "KYONAN", true),
            ("SOMU", "総務課", "section", "JIMU", true),
            ("KAIKEI", "会計課", "section", "JIMU", true),
            ("IT", "情報政策係", "subsection", "SOMU", true),
            ("SHOBO", "消防本部", "body", "KYONAN", true),
            ("OLD", "旧課", "section", "JIMU", false),
        ] {
            let id = org::create_unit(
                &mut tx,
                &cap,
                &ctx,
                &UnitInput {
                    parent_id: units[parent],
                    code: code.into(),
                    name: name.into(),
                    kind: kind.into(),
                    sort_order: 0,
                    active,
                },
            )
            .await
            .unwrap();
            units.insert(code, id);
            if !active {
                // Units are created in use; closing one is an update.
                org::update_unit(
                    &mut tx,
                    &cap,
                    &ctx,
                    id,
                    &UnitInput {
                        parent_id: units[parent],
                        code: code.into(),
                        name: name.into(),
                        kind: kind.into(),
                        sort_order: 0,
                        active,
                    },
                )
                .await
                .unwrap();
            }
        }
        let mut persons = HashMap::new();
        for (key, staff_no, name, unit) in [
            ("yamada", "1001", "山田 太郎", "SOMU"),
            ("sato", "1002", "佐藤 花子", "KAIKEI"),
            ("suzuki", "1003", "鈴木 一郎", "SHOBO"),
            ("tanaka", "1004", "田中 次郎", "SOMU"),
        ] {
            let id = org::create_person(
                &mut tx,
                &cap,
                &ctx,
                &PersonInput {
                    login: key.into(),
                    staff_no: Some(staff_no.into()),
                    name: name.into(),
                    name_kana: String::new(),
                    unit_id: units[unit],
                    employment: "regular".into(),
                    email: format!("{key}@example.lg.jp"),
                    phone: String::new(),
                    status: "active".into(),
                },
                None,
            )
            .await
            .unwrap();
            persons.insert(key, id);
        }
        // As in the demo: everyone holds 職員 in their own unit, some hold more.
        for (person, role, unit) in [
            ("yamada", Role::Staff, "SOMU"),
            ("sato", Role::Staff, "KAIKEI"),
            ("suzuki", Role::Staff, "SHOBO"),
            ("tanaka", Role::Staff, "SOMU"),
            ("yamada", Role::SecurityManager, "SOMU"),
            ("tanaka", Role::SystemStaff, "IT"),
        ] {
            org::create_assignment(
                &mut tx,
                &cap,
                &ctx,
                &AssignmentInput {
                    person_id: persons[person],
                    role,
                    unit_id: units[unit],
                    valid_from: "2025-04-01".into(),
                    valid_to: None,
                    note: String::new(),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        Fixture {
            _dir: dir,
            db,
            cap,
            ctx,
            units,
            persons,
        }
    }

    async fn tree(&self) -> UnitTree {
        org::unit_tree(&self.db, self.cap.org()).await.unwrap()
    }

    async fn plan(&self, csv: &str) -> Result<RosterPlan, RosterError> {
        let file = read_file(csv.as_bytes(), "roster.csv").map_err(RosterError::Input)?;
        plan(
            &self.db,
            &self.cap,
            &self.tree().await,
            &file,
            &Role::ALL,
            EFFECTIVE,
        )
        .await
    }

    async fn person(&self, key: &str) -> Person {
        org::person(&self.db, self.cap.org(), self.persons[key])
            .await
            .unwrap()
    }

    async fn roles_on(&self, key: &str, day: &str) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> =
            org::assignments_of(&self.db, self.cap.org(), self.persons[key])
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.in_force_on(day))
                .map(|a| (a.role, a.unit_id))
                .collect();
        v.sort();
        v
    }

    /// Everything a roster import may touch, for before/after comparisons.
    async fn snapshot(&self) -> (Vec<Person>, Vec<Assignment>, i64) {
        let mut conn = self.db.pool().acquire().await.unwrap();
        let state = load_state(&mut conn, self.cap.org(), "0000-00-00")
            .await
            .unwrap();
        let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entry")
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        (state.persons, state.assignments, audit)
    }
}

fn csv(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push_str("\r\n");
        s.push_str(r);
    }
    s.push_str("\r\n");
    s
}

fn input_errors(r: Result<RosterPlan, RosterError>) -> Vec<String> {
    match r {
        Err(RosterError::Input(e)) => e.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("expected input errors, got {other}"),
        Ok(plan) => panic!("expected input errors, got a plan: {plan:?}"),
    }
}

/// The April transfer used by several tests: 山田 moves to 会計課 as its 管理者, 田中 keeps his
/// role, 佐藤 retires, 高橋 joins with a role in 情報政策係, 鈴木 is not in the file.
fn april() -> String {
    csv(&[
        "1001,山田 太郎,やまだ たろう,yamada,KAIKEI,正規職員,yamada@example.lg.jp,,在職,管理者",
        "1004,田中 次郎,,tanaka,SOMU,正規職員,tanaka@example.lg.jp,,在職,システム担当者@IT",
        "1002,佐藤 花子,,sato,KAIKEI,正規職員,sato@example.lg.jp,,退職,",
        "1005,高橋 三郎,たかはし さぶろう,takahashi,SOMU,会計年度任用職員,,内線 201,,職員; 情報システム担当者＠IT",
    ])
}

#[tokio::test]
async fn the_plan_lists_every_kind_of_change() {
    let f = Fixture::new().await;
    let plan = f.plan(&april()).await.unwrap();

    assert_eq!(plan.effective, "2026-04-01");
    assert_eq!(plan.end_day, "2026-03-31");
    assert_eq!(plan.rows, 4);

    assert_eq!(plan.new_persons.len(), 1);
    let new = &plan.new_persons[0];
    assert_eq!(new.row, 5);
    assert_eq!(new.input.login, "takahashi");
    assert_eq!(new.input.employment, "fiscal_year_appointed");
    assert_eq!(new.input.phone, "内線 201");

    assert_eq!(plan.updates.len(), 1);
    let u = &plan.updates[0];
    assert_eq!(u.person_id, f.persons["yamada"]);
    let changed: Vec<(&str, &str, &str)> = u
        .changes
        .iter()
        .map(|c| (c.field, c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("name_kana", "", "やまだ たろう"),
            ("unit", "SOMU 事務局 総務課", "KAIKEI 事務局 会計課"),
        ]
    );

    assert_eq!(plan.retirements.len(), 1);
    assert_eq!(plan.retirements[0].person_id, f.persons["sato"]);
    assert_eq!(plan.retirements[0].changes[0].after, "退職");

    let starts: Vec<(&str, Role, i64)> = plan
        .role_starts
        .iter()
        .map(|s| (s.login.as_str(), s.role, s.unit_id))
        .collect();
    assert_eq!(
        starts,
        vec![
            ("yamada", Role::Staff, f.units["KAIKEI"]),
            ("yamada", Role::SecurityManager, f.units["KAIKEI"]),
            ("takahashi", Role::Staff, f.units["SOMU"]),
            ("takahashi", Role::SystemStaff, f.units["IT"]),
        ]
    );
    let ends: Vec<(&str, &str, &str)> = plan
        .role_ends
        .iter()
        .map(|e| (e.name.as_str(), e.role.as_str(), e.reason))
        .collect();
    assert_eq!(
        ends,
        vec![
            ("山田 太郎", "staff", "所属の変更"),
            ("山田 太郎", "security_manager", "名簿に記載なし"),
            ("佐藤 花子", "staff", "退職"),
        ]
    );
    assert_eq!(plan.unchanged, 1, "田中 changes nothing");
    let absent: Vec<&str> = plan.not_in_file.iter().map(|p| p.login.as_str()).collect();
    assert_eq!(absent, vec!["suzuki"]);
    assert_eq!(plan.digest.len(), 64);
}

#[tokio::test]
async fn planning_writes_nothing() {
    let f = Fixture::new().await;
    let before = f.snapshot().await;
    f.plan(&april()).await.unwrap();
    assert_eq!(f.snapshot().await, before);
}

#[tokio::test]
async fn apply_carries_out_the_plan_in_one_go_and_is_then_a_no_op() {
    let f = Fixture::new().await;
    let plan = f.plan(&april()).await.unwrap();
    let summary = apply(&f.db, &f.cap, &f.ctx, &plan).await.unwrap();
    assert_eq!(
        (
            summary.created,
            summary.updated,
            summary.retired,
            summary.roles_started,
            summary.roles_ended
        ),
        (1, 1, 1, 4, 3)
    );

    let yamada = f.person("yamada").await;
    assert_eq!(yamada.unit_id, f.units["KAIKEI"]);
    assert_eq!(yamada.name_kana, "やまだ たろう");
    assert_eq!(
        f.roles_on("yamada", "2026-03-31").await,
        vec![
            ("security_manager".into(), f.units["SOMU"]),
            ("staff".into(), f.units["SOMU"])
        ]
    );
    assert_eq!(
        f.roles_on("yamada", "2026-04-01").await,
        vec![
            ("security_manager".into(), f.units["KAIKEI"]),
            ("staff".into(), f.units["KAIKEI"])
        ]
    );
    assert_eq!(f.person("sato").await.status, "retired");
    assert!(f.roles_on("sato", "2026-04-01").await.is_empty());
    assert_eq!(f.roles_on("sato", "2026-03-31").await.len(), 1);
    let takahashi = person_by_login(&f.db, "takahashi").await;
    assert_eq!(takahashi.staff_no.as_deref(), Some("1005"));
    assert_eq!(takahashi.unit_id, f.units["SOMU"]);

    // Each change is audited on its own, plus one summary.
    let entries = audit::list(&f.db, &audit::Filter::default(), 100)
        .await
        .unwrap();
    let count = |action: &str| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(count("roster.import"), 1);
    assert_eq!(count("assignment.end"), 3);
    assert!(count("person.update") >= 2);
    let summary_entry = entries
        .iter()
        .find(|e| e.action == "roster.import")
        .unwrap();
    assert_eq!(summary_entry.seq, summary.audit_seq);
    let after: serde_json::Value =
        serde_json::from_str(summary_entry.after_json.as_deref().unwrap()).unwrap();
    assert_eq!(after["created"], 1);
    assert_eq!(after["file_sha256"], plan.file_sha256);
    assert!(audit::verify(&f.db).await.unwrap().first_break.is_none());

    // The same file again changes nothing.
    let again = f.plan(&april()).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 4);
    assert_eq!(again.warnings.len(), 0);
}

async fn person_by_login(db: &Db, login: &str) -> Person {
    org::person_by_login(db, login).await.unwrap().unwrap()
}

#[tokio::test]
async fn every_bad_cell_is_reported_with_row_and_column() {
    let f = Fixture::new().await;
    let errors = input_errors(
        f.plan(&csv(&[
            "1001,山田 太郎,,Y,SOMU,正規職員,,,在職,",
            "1006,,,newbie,NOPE,アルバイト,not-a-mail,,休職,課長",
            "1007,木村 四郎,,kimura,OLD,正規職員,,,,管理者@SHOBO;監査人@ZZZ",
        ]))
        .await,
    );
    let expected = [
        "2行目「ログインID」列の値「Y」",
        "3行目「氏名」列の値「」: 氏名が入力されていません",
        "3行目「所属コード」列の値「NOPE」: 組織コード「NOPE」の組織はありません",
        "3行目「雇用形態」列の値「アルバイト」",
        "3行目「メールアドレス」列",
        "3行目「在職状況」列の値「休職」",
        "3行目「役割」列の値「課長」: 役割「課長」は認識できません",
        "4行目「所属コード」列の値「OLD」: 組織コード「OLD」の組織は廃止されています",
        "4行目「役割」列の値「管理者@SHOBO;監査人@ZZZ」: 役割「監査人@ZZZ」: 組織コード「ZZZ」の組織はありません",
    ];
    for e in expected {
        assert!(
            errors.iter().any(|m| m.starts_with(e)),
            "missing {e} in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
}

#[tokio::test]
async fn a_missing_header_names_what_is_missing() {
    let errors = read_file(
        "職員番号,氏名,ログインID,雇用形態\r\n1001,山田,yamada,正規職員\r\n".as_bytes(),
        "r.csv",
    )
    .unwrap_err();
    let msg = errors.to_string();
    assert!(
        msg.contains("1行目: 必要な列がありません: 所属コード"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_empty_roster_is_refused() {
    let errors = read_file(format!("{HEADER}\r\n").as_bytes(), "r.csv").unwrap_err();
    assert!(errors.to_string().contains("職員の行がありません"));
}

#[tokio::test]
async fn duplicates_and_conflicting_identities_are_errors() {
    let f = Fixture::new().await;
    let errors = input_errors(
        f.plan(&csv(&[
            "1001,山田 太郎,,yamada,SOMU,正規職員,,,,",
            "1001,山田 太郎,,yamada2,SOMU,正規職員,,,,",
            "1009,別人,,sato,SOMU,正規職員,,,,",
            "1004,田中 次郎,,suzuki,SOMU,正規職員,,,,",
        ]))
        .await,
    );
    let expected = [
        "3行目「職員番号」列の値「1001」: 職員番号が2行目と重複しています",
        "4行目「ログインID」列の値「sato」: このログインIDは職員番号「1002」の職員（佐藤 花子）が使っています",
        "5行目「ログインID」列の値「suzuki」: このログインIDは別の職員（鈴木 一郎）が使っています",
    ];
    for (e, want) in errors.iter().zip(expected) {
        assert!(e.starts_with(want), "{errors:#?}");
    }
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[tokio::test]
async fn a_person_without_staff_number_is_matched_by_login() {
    let f = Fixture::new().await;
    let plan = f
        .plan(&csv(&[
            ",山田 太郎,,YAMADA,SOMU,正規職員,yamada@example.lg.jp,,,管理者",
        ]))
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.unchanged, 1);
}

#[tokio::test]
async fn absent_columns_leave_fields_and_roles_alone() {
    let f = Fixture::new().await;
    let plan = f
        .plan("職員番号,氏名,ログインID,所属コード,雇用形態\n1001,山田 太郎,yamada,SOMU,正規職員\n")
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.unchanged, 1);
}

#[tokio::test]
async fn without_a_roles_column_only_staff_follows_the_unit() {
    let f = Fixture::new().await;
    let plan = f
        .plan(
            "職員番号,氏名,ログインID,所属コード,雇用形態\n1001,山田 太郎,yamada,KAIKEI,正規職員\n",
        )
        .await
        .unwrap();
    let starts: Vec<(Role, i64)> = plan
        .role_starts
        .iter()
        .map(|s| (s.role, s.unit_id))
        .collect();
    assert_eq!(starts, vec![(Role::Staff, f.units["KAIKEI"])]);
    let ends: Vec<&str> = plan.role_ends.iter().map(|e| e.role.as_str()).collect();
    assert_eq!(ends, vec!["staff"], "管理者 in 総務課 is left alone");
}

#[tokio::test]
async fn aliases_and_marks_in_headers_are_accepted() {
    let f = Fixture::new().await;
    let plan = f
        .plan("staff_no,name,login,※所属コード（必須）,employment,roles\n1001,山田 太郎,yamada,SOMU,regular,security_manager\n")
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan:?}");
}

#[tokio::test]
async fn roles_the_importer_may_not_grant_are_errors() {
    let f = Fixture::new().await;
    let file = read_file(
        csv(&["1001,山田 太郎,,yamada,SOMU,正規職員,,,,管理者; CISO"]).as_bytes(),
        "r.csv",
    )
    .unwrap();
    let grantable = [Role::SecurityManager, Role::SystemStaff, Role::Staff];
    let errors =
        input_errors(plan(&f.db, &f.cap, &f.tree().await, &file, &grantable, EFFECTIVE).await);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .ends_with("役割「最高情報セキュリティ責任者（CISO）」を割り当てる権限がありません"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn rows_outside_the_reach_are_errors() {
    let f = Fixture::new().await;
    let tree = f.tree().await;
    let file = read_file(
        csv(&[
            "1001,山田 太郎,,yamada,SOMU,正規職員,,,,",
            "1002,佐藤 花子,,sato,SOMU,正規職員,,,,",
            "1004,田中 次郎,,tanaka,SOMU,正規職員,,,,管理者@KAIKEI",
            "1010,新人,,newbie,SHOBO,正規職員,,,,",
        ])
        .as_bytes(),
        "r.csv",
    )
    .unwrap();
    let mut conn = f.db.pool().acquire().await.unwrap();
    let state = load_state(&mut conn, f.cap.org(), "2026-04-01")
        .await
        .unwrap();
    let scope = Scope {
        org: f.cap.org(),
        reach: Reach::Subtrees(vec![UnitId(f.units["SOMU"])]),
        tree: &tree,
        grantable: &Role::ALL,
    };
    let errors = input_errors(compute(&scope, &state, &file, EFFECTIVE));
    assert!(errors[0].starts_with("3行目「所属コード」列の値「SOMU」: この職員の現在の所属（KAIKEI 事務局 会計課）は名簿取込みの権限の範囲外です"), "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("4行目「役割」列") && e.contains("範囲外"))
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("5行目「所属コード」列") && e.contains("範囲外"))
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");

    // Within reach, persons elsewhere are neither touched nor listed as absent.
    let file = read_file(
        csv(&["1001,山田 太郎,,yamada,SOMU,正規職員,yamada@example.lg.jp,,,"]).as_bytes(),
        "r.csv",
    )
    .unwrap();
    let plan = compute(&scope, &state, &file, EFFECTIVE).unwrap();
    let absent: Vec<&str> = plan.not_in_file.iter().map(|p| p.login.as_str()).collect();
    assert_eq!(absent, vec!["tanaka"]);
    // 山田's role in 総務課 ends (the 役割 column is empty); it is within reach.
    assert_eq!(plan.role_ends.len(), 1);
}

#[tokio::test]
async fn the_digest_is_stable_and_a_stale_plan_is_refused() {
    let f = Fixture::new().await;
    let first = f.plan(&april()).await.unwrap();
    let second = f.plan(&april()).await.unwrap();
    assert_eq!(first.digest, second.digest);

    // Someone edits 山田 between preview and apply.
    let mut yamada = f.person("yamada").await;
    yamada.phone = "内線 999".into();
    let mut tx = f.db.begin_write().await.unwrap();
    org::update_person(
        &mut tx,
        &f.cap,
        &f.ctx,
        yamada.id,
        &PersonInput {
            login: yamada.login.clone(),
            staff_no: yamada.staff_no.clone(),
            name: yamada.name.clone(),
            name_kana: yamada.name_kana.clone(),
            unit_id: yamada.unit_id,
            employment: yamada.employment.clone(),
            email: yamada.email.clone(),
            phone: yamada.phone.clone(),
            status: yamada.status.clone(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let third = f.plan(&april()).await.unwrap();
    assert_ne!(first.digest, third.digest);
    let before = f.snapshot().await;
    assert!(matches!(
        apply(&f.db, &f.cap, &f.ctx, &first).await,
        Err(RosterError::Stale)
    ));
    assert_eq!(f.snapshot().await, before);

    // A different effective date is a different plan.
    let file = read_file(april().as_bytes(), "roster.csv").unwrap();
    let other_day = plan(
        &f.db,
        &f.cap,
        &f.tree().await,
        &file,
        &Role::ALL,
        date!(2026 - 04 - 02),
    )
    .await
    .unwrap();
    assert_ne!(other_day.digest, third.digest);
}

#[tokio::test]
async fn a_failure_late_in_apply_leaves_nothing_written() {
    let f = Fixture::new().await;
    let plan = f.plan(&april()).await.unwrap();
    // Between plan and apply, another organisation takes the new person's login: the updates
    // run first and succeed, then creating 高橋 fails, and everything must roll back.
    let mut tx = f.db.begin_write().await.unwrap();
    let (other, root) = org::create_organisation(&mut tx, &f.ctx, "OTHER", "別団体")
        .await
        .unwrap();
    let other_cap = Capability::<can::ImportRoster>::operator(OrgId(other));
    org::create_person(
        &mut tx,
        &other_cap,
        &f.ctx,
        &PersonInput {
            login: "takahashi".into(),
            staff_no: None,
            name: "別の高橋".into(),
            name_kana: String::new(),
            unit_id: root,
            employment: "regular".into(),
            email: String::new(),
            phone: String::new(),
            status: "active".into(),
        },
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let before = f.snapshot().await;
    let err = apply(&f.db, &f.cap, &f.ctx, &plan).await.unwrap_err();
    assert!(
        matches!(err, RosterError::Db(DbError::Duplicate(_))),
        "{err:?}"
    );
    assert_eq!(f.snapshot().await, before);
    assert_eq!(f.person("yamada").await.unit_id, f.units["SOMU"]);
}

#[tokio::test]
async fn a_plan_for_another_reach_is_refused() {
    let f = Fixture::new().await;
    let mut plan = f.plan(&april()).await.unwrap();
    plan.reach = Reach::Subtrees(vec![UnitId(f.units["SOMU"])]);
    assert!(matches!(
        apply(&f.db, &f.cap, &f.ctx, &plan).await,
        Err(RosterError::Stale)
    ));
}

#[tokio::test]
async fn a_retired_row_for_an_unknown_person_is_skipped_with_a_warning() {
    let f = Fixture::new().await;
    let plan = f
        .plan(&csv(&["2001,昔の人,,old.person,SOMU,正規職員,,,退職,"]))
        .await
        .unwrap();
    assert!(plan.is_empty());
    assert_eq!(plan.warnings.len(), 1);
    assert!(plan.warnings[0].starts_with("2行目:"));
}

#[tokio::test]
async fn a_reinstated_person_gets_the_listed_roles() {
    let f = Fixture::new().await;
    let plan = f
        .plan(&csv(&[
            "1002,佐藤 花子,,sato,KAIKEI,正規職員,sato@example.lg.jp,,退職,",
        ]))
        .await
        .unwrap();
    apply(&f.db, &f.cap, &f.ctx, &plan).await.unwrap();
    let plan = f
        .plan(&csv(&[
            "1002,佐藤 花子,,sato,KAIKEI,正規職員,sato@example.lg.jp,,在職,職員",
        ]))
        .await
        .unwrap();
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0].changes[0].label, "在職状況");
    assert_eq!(plan.role_starts.len(), 1);
}

#[test]
fn role_cells_split_on_the_separators_people_use() {
    let items: Vec<&str> = split_roles("管理者; システム担当者@IT、監査人；職員\n統括 ,").collect();
    assert_eq!(
        items,
        vec!["管理者", "システム担当者@IT", "監査人", "職員", "統括"]
    );
}

fn export(rows: &[[&str; 10]]) -> ExportTable {
    let mut t = template();
    for r in rows {
        t.push(r.iter().map(|s| (*s).to_owned()).collect());
    }
    t
}

const TAKAHASHI: [&str; 10] = [
    "1005",
    "高橋 三郎",
    "たかはし さぶろう",
    "takahashi",
    "SOMU",
    "会計年度任用職員",
    "",
    "",
    "",
    "職員",
];

#[tokio::test]
async fn cp932_bom_and_xlsx_files_give_the_same_plan() {
    let f = Fixture::new().await;
    let tree = f.tree().await;
    let table = export(&[TAKAHASHI]);
    let utf8 = mamori_tabular::write_csv_utf8(&table).unwrap();
    assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
    let (sjis, _, unmappable) =
        encoding_rs::SHIFT_JIS.encode(std::str::from_utf8(&utf8[3..]).unwrap());
    assert!(!unmappable);
    let xlsx = mamori_tabular::write_xlsx(&table).unwrap();
    let mut digests = Vec::new();
    for (bytes, name) in [
        (utf8.clone(), "r.csv"),
        (sjis.into_owned(), "r.csv"),
        (xlsx, "r.xlsx"),
    ] {
        let file = read_file(&bytes, name).unwrap();
        let plan = plan(&f.db, &f.cap, &tree, &file, &Role::ALL, EFFECTIVE)
            .await
            .unwrap();
        assert_eq!(plan.new_persons.len(), 1, "{name}");
        assert_eq!(plan.new_persons[0].input.name, "高橋 三郎");
        assert_eq!(plan.role_starts.len(), 1);
        // The plans differ only by the file's hash (and so the digest).
        let mut p = plan.clone();
        p.file_name = String::new();
        p.file_sha256 = String::new();
        p.digest = String::new();
        digests.push(p.compute_digest().unwrap());
    }
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0], digests[2]);
}

#[test]
fn the_template_reads_back_as_an_empty_roster() {
    let xlsx = mamori_tabular::write_xlsx(&template()).unwrap();
    let err = read_file(&xlsx, "template.xlsx").unwrap_err();
    assert!(err.to_string().contains("職員の行がありません"), "{err}");
}
