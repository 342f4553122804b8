//! `serve --demo`: loads 峡南広域行政組合 — its three bodies (事務局, 消防本部, 慈生園) with their
//! sections, about forty staff across every role and employment type, the shipped policy
//! structure as version 1 and its α-model network description as version 1 — so a visitor can
//! try every page. Loading is idempotent: a second start finds the organisation and only prints
//! how to log in.

use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::Db;
use mamori_db::org::{self, AssignmentInput, AuditCtx, PersonInput, UnitInput};
use mamori_db::policy::{self, NewVersion};

/// Code of the demo organisation.
pub const ORG_CODE: &str = "kyonan";
/// Name of the demo organisation.
pub const ORG_NAME: &str = "峡南広域行政組合";
/// First day of the demo's role assignments (令和8年4月1日, when the policy took effect).
pub const SINCE: &str = "2026-04-01";

/// (code, parent code, name, kind)
const UNITS: &[(&str, &str, &str, &str)] = &[
    ("jimu", ORG_CODE, "事務局", "body"),
    ("jimu-somu", "jimu", "総務課", "section"),
    ("jimu-somu-somu", "jimu-somu", "総務係", "subsection"),
    ("jimu-somu-joho", "jimu-somu", "情報政策係", "subsection"),
    ("jimu-zaimu", "jimu", "財政課", "section"),
    ("jimu-zaimu-keiri", "jimu-zaimu", "会計係", "subsection"),
    ("jimu-gyomu", "jimu", "業務課", "section"),
    ("jimu-gyomu-shisetsu", "jimu-gyomu", "施設係", "subsection"),
    ("shobo", ORG_CODE, "消防本部", "body"),
    ("shobo-somu", "shobo", "総務課", "section"),
    ("shobo-keibo", "shobo", "警防課", "section"),
    ("shobo-yobo", "shobo", "予防課", "section"),
    ("shobo-shirei", "shobo", "通信指令課", "section"),
    ("shobo-minobu", "shobo", "身延消防署", "section"),
    ("shobo-kajikazawa", "shobo", "鰍沢消防署", "section"),
    ("jiseien", ORG_CODE, "慈生園", "body"),
    ("jiseien-kanri", "jiseien", "管理係", "section"),
    ("jiseien-shien", "jiseien", "生活支援係", "section"),
    ("jiseien-kango", "jiseien", "看護係", "section"),
];

/// One demo person: (職員番号, login, 氏名, ふりがな, unit code, employment, extra roles).
/// Everyone also holds 職員 in their own unit.
type DemoPerson = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(Role, &'static str)],
);

const PEOPLE: &[DemoPerson] = &[
    (
        "0001",
        "ciso",
        "望月 正和",
        "もちづき まさかず",
        "jimu",
        "regular",
        &[(Role::Ciso, ORG_CODE)],
    ),
    (
        "0002",
        "vciso",
        "佐野 隆",
        "さの たかし",
        "jimu",
        "regular",
        &[(Role::ViceCiso, ORG_CODE), (Role::SecurityOfficer, "jimu")],
    ),
    (
        "0003",
        "tokatsu",
        "深沢 恵子",
        "ふかさわ けいこ",
        "jimu-somu",
        "regular",
        &[
            (Role::ChiefOfficer, ORG_CODE),
            (Role::SecurityManager, "jimu-somu"),
        ],
    ),
    (
        "0004",
        "sysadmin",
        "遠藤 健一",
        "えんどう けんいち",
        "jimu-somu-joho",
        "regular",
        &[(Role::SystemManager, "jimu-somu")],
    ),
    (
        "0005",
        "joho",
        "渡辺 美咲",
        "わたなべ みさき",
        "jimu-somu-joho",
        "regular",
        &[(Role::SystemStaff, "jimu-somu")],
    ),
    (
        "0006",
        "somu",
        "笠井 直樹",
        "かさい なおき",
        "jimu-somu-somu",
        "regular",
        &[],
    ),
    (
        "0007",
        "somu2",
        "依田 由美",
        "よだ ゆみ",
        "jimu-somu-somu",
        "fiscal_year_appointed",
        &[],
    ),
    (
        "0008",
        "zaimu.kacho",
        "市川 浩",
        "いちかわ ひろし",
        "jimu-zaimu",
        "regular",
        &[(Role::SecurityManager, "jimu-zaimu")],
    ),
    (
        "0009",
        "keiri",
        "小林 明美",
        "こばやし あけみ",
        "jimu-zaimu-keiri",
        "regular",
        &[],
    ),
    (
        "0010",
        "keiri2",
        "中村 翔太",
        "なかむら しょうた",
        "jimu-zaimu-keiri",
        "temporary",
        &[],
    ),
    (
        "0011",
        "gyomu.kacho",
        "伊藤 誠",
        "いとう まこと",
        "jimu-gyomu",
        "regular",
        &[(Role::SecurityManager, "jimu-gyomu")],
    ),
    (
        "0012",
        "shisetsu",
        "山本 大輔",
        "やまもと だいすけ",
        "jimu-gyomu-shisetsu",
        "reappointed",
        &[],
    ),
    (
        "0013",
        "kansa",
        "井上 久美子",
        "いのうえ くみこ",
        "jimu-gyomu",
        "regular",
        &[(Role::Auditor, ORG_CODE)],
    ),
    (
        "0014",
        "kansa.gaibu",
        "清水 亮",
        "しみず りょう",
        ORG_CODE,
        "contractor",
        &[(Role::Auditor, ORG_CODE)],
    ),
    (
        "0015",
        "shobocho",
        "斉藤 勝",
        "さいとう まさる",
        "shobo",
        "regular",
        &[(Role::SecurityOfficer, "shobo")],
    ),
    (
        "0016",
        "shobo.somu.kacho",
        "長田 剛",
        "おさだ つよし",
        "shobo-somu",
        "regular",
        &[(Role::SecurityManager, "shobo-somu")],
    ),
    (
        "0017",
        "shobo.somu",
        "若林 さくら",
        "わかばやし さくら",
        "shobo-somu",
        "regular",
        &[],
    ),
    (
        "0018",
        "keibo.kacho",
        "千頭和 修",
        "ちずわ おさむ",
        "shobo-keibo",
        "regular",
        &[(Role::SecurityManager, "shobo-keibo")],
    ),
    (
        "0019",
        "keibo",
        "芦沢 拓也",
        "あしざわ たくや",
        "shobo-keibo",
        "regular",
        &[],
    ),
    (
        "0020",
        "yobo.kacho",
        "近藤 和也",
        "こんどう かずや",
        "shobo-yobo",
        "regular",
        &[(Role::SecurityManager, "shobo-yobo")],
    ),
    (
        "0021",
        "yobo",
        "野沢 彩",
        "のざわ あや",
        "shobo-yobo",
        "fiscal_year_appointed",
        &[],
    ),
    (
        "0022",
        "shirei.kacho",
        "穂坂 浩二",
        "ほさか こうじ",
        "shobo-shirei",
        "regular",
        &[
            (Role::SecurityManager, "shobo-shirei"),
            (Role::SystemManager, "shobo-shirei"),
        ],
    ),
    (
        "0023",
        "shirei",
        "秋山 悠斗",
        "あきやま ゆうと",
        "shobo-shirei",
        "regular",
        &[(Role::SystemStaff, "shobo-shirei")],
    ),
    (
        "0024",
        "shirei2",
        "樋口 涼",
        "ひぐち りょう",
        "shobo-shirei",
        "regular",
        &[],
    ),
    (
        "0025",
        "minobu.shocho",
        "赤池 俊夫",
        "あかいけ としお",
        "shobo-minobu",
        "regular",
        &[(Role::SecurityManager, "shobo-minobu")],
    ),
    (
        "0026",
        "minobu1",
        "内藤 健太",
        "ないとう けんた",
        "shobo-minobu",
        "regular",
        &[],
    ),
    (
        "0027",
        "minobu2",
        "村松 雄一",
        "むらまつ ゆういち",
        "shobo-minobu",
        "regular",
        &[],
    ),
    (
        "0028",
        "kajikazawa.shocho",
        "仲田 正人",
        "なかだ まさと",
        "shobo-kajikazawa",
        "regular",
        &[(Role::SecurityManager, "shobo-kajikazawa")],
    ),
    (
        "0029",
        "kajikazawa1",
        "保坂 直人",
        "ほさか なおと",
        "shobo-kajikazawa",
        "regular",
        &[],
    ),
    (
        "0030",
        "kajikazawa2",
        "植松 航",
        "うえまつ わたる",
        "shobo-kajikazawa",
        "reappointed",
        &[],
    ),
    (
        "0031",
        "encho",
        "河野 幸子",
        "こうの さちこ",
        "jiseien",
        "regular",
        &[(Role::SecurityOfficer, "jiseien")],
    ),
    (
        "0032",
        "jiseien.kanri",
        "古屋 昌弘",
        "ふるや まさひろ",
        "jiseien-kanri",
        "regular",
        &[
            (Role::SecurityManager, "jiseien-kanri"),
            (Role::SystemManager, "jiseien-kanri"),
        ],
    ),
    (
        "0033",
        "jiseien.jimu",
        "有泉 千尋",
        "ありいずみ ちひろ",
        "jiseien-kanri",
        "fiscal_year_appointed",
        &[],
    ),
    (
        "0034",
        "shien.kakaricho",
        "石原 真由美",
        "いしはら まゆみ",
        "jiseien-shien",
        "regular",
        &[(Role::SecurityManager, "jiseien-shien")],
    ),
    (
        "0035",
        "shien1",
        "窪田 優子",
        "くぼた ゆうこ",
        "jiseien-shien",
        "fiscal_year_appointed",
        &[],
    ),
    (
        "0036",
        "shien2",
        "丹沢 里美",
        "たんざわ さとみ",
        "jiseien-shien",
        "temporary",
        &[],
    ),
    (
        "0037",
        "kango.kakaricho",
        "一瀬 典子",
        "いちのせ のりこ",
        "jiseien-kango",
        "regular",
        &[(Role::SecurityManager, "jiseien-kango")],
    ),
    (
        "0038",
        "kango1",
        "雨宮 香織",
        "あめみや かおり",
        "jiseien-kango",
        "fiscal_year_appointed",
        &[],
    ),
    (
        "0039",
        "itaku.hoshu",
        "田中 誠司",
        "たなか せいじ",
        "jimu-somu-joho",
        "contractor",
        &[],
    ),
    (
        "0040",
        "itaku.kaigo",
        "森本 玲奈",
        "もりもと れな",
        "jiseien-kanri",
        "contractor",
        &[],
    ),
];

/// Logins shown in the start-up message, one per kind of user.
pub const SHOWCASE: &[&str] = &[
    "ciso",
    "tokatsu",
    "sysadmin",
    "kansa",
    "shobocho",
    "zaimu.kacho",
    "somu",
    "shien1",
];

/// What loading the demo did.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Whether the organisation was created now (false: it already existed).
    pub created: bool,
    /// The organisation's id.
    pub org_id: i64,
    /// People created.
    pub people: usize,
}

/// Loads the demo organisation unless it exists; every demo user gets `password`, hashed with
/// Argon2id at `memory_kib`.
pub async fn load(db: &Db, password: &str, memory_kib: u32) -> anyhow::Result<Loaded> {
    if let Some(existing) = org::organisations(db)
        .await?
        .into_iter()
        .find(|o| o.code == ORG_CODE)
    {
        return Ok(Loaded {
            created: false,
            org_id: existing.id,
            people: 0,
        });
    }
    let hash = mamori_web::password::hash(password.to_owned(), memory_kib)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ctx = AuditCtx {
        actor: "demo".to_owned(),
        ..AuditCtx::default()
    };
    let mut tx = db.begin_write().await?;
    let (org_id, root) = org::create_organisation(&mut tx, &ctx, ORG_CODE, ORG_NAME).await?;
    let ctx = AuditCtx {
        org_id: Some(org_id),
        ..ctx
    };
    let org = mamori_core::org::OrgId(org_id);
    let units_cap = Capability::<can::EditUnits>::operator(org);
    let persons_cap = Capability::<can::EditPersons>::operator(org);
    let roles_cap = Capability::<can::EditAssignments>::operator(org);

    let mut ids: Vec<(&str, i64)> = vec![(ORG_CODE, root)];
    let find = |ids: &[(&str, i64)], code: &str| {
        ids.iter()
            .find(|(c, _)| *c == code)
            .map(|(_, id)| *id)
            .ok_or_else(|| anyhow::anyhow!("demo data names an unknown unit {code}"))
    };
    for (order, (code, parent, name, kind)) in UNITS.iter().enumerate() {
        let parent_id = find(&ids, parent)?;
        let id = org::create_unit(
            &mut tx,
            &units_cap,
            &ctx,
            &UnitInput {
                parent_id,
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                kind: (*kind).to_owned(),
                sort_order: i64::try_from(order).unwrap_or(0),
                active: true,
            },
        )
        .await?;
        ids.push((code, id));
    }

    for (staff_no, login, name, kana, unit, employment, roles) in PEOPLE {
        let unit_id = find(&ids, unit)?;
        let person_id = org::create_person(
            &mut tx,
            &persons_cap,
            &ctx,
            &PersonInput {
                login: (*login).to_owned(),
                staff_no: Some((*staff_no).to_owned()),
                name: (*name).to_owned(),
                name_kana: (*kana).to_owned(),
                unit_id,
                employment: (*employment).to_owned(),
                email: format!("{login}@kyonan.example.lg.jp"),
                phone: format!("内線 {}", staff_no.trim_start_matches('0')),
                status: "active".to_owned(),
            },
            Some(&hash),
        )
        .await?;
        let own = std::iter::once((Role::Staff, *unit));
        for (role, at) in own.chain(roles.iter().copied()) {
            org::create_assignment(
                &mut tx,
                &roles_cap,
                &ctx,
                &AssignmentInput {
                    person_id,
                    role,
                    unit_id: find(&ids, at)?,
                    valid_from: SINCE.to_owned(),
                    valid_to: None,
                    note: String::new(),
                },
            )
            .await?;
        }
    }

    // One person who retired at the end of 令和7年度: history stays visible, login does not.
    let retired_unit = find(&ids, "jimu-somu-somu")?;
    let retired = org::create_person(
        &mut tx,
        &persons_cap,
        &ctx,
        &PersonInput {
            login: "sato.retired".to_owned(),
            staff_no: Some("0901".to_owned()),
            name: "佐藤 一郎".to_owned(),
            name_kana: "さとう いちろう".to_owned(),
            unit_id: retired_unit,
            employment: "regular".to_owned(),
            email: String::new(),
            phone: String::new(),
            status: "retired".to_owned(),
        },
        None,
    )
    .await?;
    org::create_assignment(
        &mut tx,
        &roles_cap,
        &ctx,
        &AssignmentInput {
            person_id: retired,
            role: Role::SecurityManager,
            unit_id: find(&ids, "jimu-somu")?,
            valid_from: "2022-04-01".to_owned(),
            valid_to: Some("2026-03-31".to_owned()),
            note: "令和8年3月31日 退職".to_owned(),
        },
    )
    .await?;
    tx.commit().await?;

    store_shipped_policy(db, org_id, ORG_NAME, &ctx, Some(SINCE)).await?;
    store_example_network(db, org_id, &ctx).await?;
    crate::demo_assets::load(db, org_id, &ctx).await?;
    crate::demo_documents::load(db, org_id, SINCE).await?;
    crate::demo_auditing::load(db, org_id, &ctx).await?;
    crate::demo_catalogue::load(db, org_id, &ctx).await?;
    crate::demo_inspection::load(db, org_id, &ctx).await?;
    Ok(Loaded {
        created: true,
        org_id,
        people: PEOPLE.len() + 1,
    })
}

/// Stores the shipped policy structure as an organisation's first version.
pub async fn store_shipped_policy(
    db: &Db,
    org_id: i64,
    org_name: &str,
    ctx: &AuditCtx,
    adopted: Option<&str>,
) -> anyhow::Result<i64> {
    let tree = org::unit_tree(db, mamori_core::org::OrgId(org_id)).await?;
    let mut doc = mamori_web::features::policy::shipped_doc(org_name, &tree);
    if let Some(day) = adopted {
        doc.outline.adopted = mamori_core::calendar::parse_date(day).ok();
    }
    let content = serde_json::to_value(&doc)?;
    let mut tx = db.begin_write().await?;
    let n = policy::add_version(
        &mut tx,
        org_id,
        ctx,
        &NewVersion {
            title: &doc.outline.title,
            adopted_on: adopted,
            source: "shipped",
            content: &content,
            note: "標準の構成（章立て・用語・脅威・対象範囲）",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Stores the bundled α-model description (`examples/kyonan-alpha.toml`, which describes this
/// very organisation) as its first network version.
async fn store_example_network(db: &Db, org_id: i64, ctx: &AuditCtx) -> anyhow::Result<i64> {
    use mamori_web::features::network;
    let cap = Capability::<can::EditNetwork>::operator(mamori_core::org::OrgId(org_id));
    match network::store(
        db,
        &cap,
        ctx,
        network::EXAMPLE_TOML.to_owned(),
        "kyonan-alpha.toml",
        "デモ: 記述例 kyonan-alpha.toml を登録",
    )
    .await?
    {
        Ok(n) => Ok(n),
        Err(e) => anyhow::bail!("the bundled network example does not read: {e}"),
    }
}

/// The start-up message: where to go and whom to log in as.
pub fn login_help(base_url: &str, password: &str) -> String {
    let mut out = format!(
        "\nデモ: {ORG_NAME}（在職 {} 名、退職 1 名）を読み込みました / demo organisation loaded\n\
         ブラウザーで {base_url}/login を開き、次のいずれかでログインしてください。\n\
         パスワード（全員共通）: {password}\n",
        PEOPLE.len()
    );
    for login in SHOWCASE {
        if let Some((_, l, name, _, _, _, roles)) = PEOPLE.iter().find(|p| p.1 == *login) {
            let role = roles
                .first()
                .map(|(r, _)| r.label_ja())
                .unwrap_or(Role::Staff.label_ja());
            let mfa = if roles.iter().any(|(r, _)| r.requires_mfa()) {
                "（初回ログイン時に二要素認証を登録）"
            } else {
                ""
            };
            out.push_str(&format!("  {l:<14} {name}  {role}{mfa}\n"));
        }
    }
    out
}
