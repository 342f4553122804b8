//! The standards catalogue's and the exceptions' routes in the isolation check: the second
//! organisation gets its own clauses (one with its own number), a control with evidence and an
//! approved exception whose reference has the same text as the first organisation's; every
//! route is tried with their ids and numbers and must answer as for ones nobody has.

use http::{Method, StatusCode};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use serde_json::json;

use super::{MISSING, Prober, Send, assert_clean_body, form};
use crate::common::Resp;
use crate::support::request_id;

/// What the second organisation holds here.
struct Other {
    clause: i64,
    control: i64,
    evidence: i64,
    exception: i64,
}

async fn build(p: &Prober<'_>, org_id: i64, person: i64) -> Other {
    let db = &p.app.db;
    let org = OrgId(org_id);
    let tree = mamori_db::org::unit_tree(db, org).await.unwrap();
    let root = tree.root().unwrap().id;
    let ctx = mamori_db::org::AuditCtx {
        org_id: Some(org_id),
        actor: "cli".into(),
        ..Default::default()
    };
    let mut tx = db.begin_write().await.unwrap();
    mamori_db::catalogue::seed_in(&mut tx, org_id)
        .await
        .unwrap();
    let now = mamori_db::now_text();
    let clause: i64 = sqlx::query_scalar(
        "INSERT INTO std_clause (org_id, number, title, body, source, created_at, updated_at) \
         VALUES ($1, 'N第1条', '南麓の条項', '南麓の本文', 'import', $2, $2) RETURNING id",
    )
    .bind(org_id)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let control = mamori_db::catalogue::create_control(
        &mut tx,
        &Capability::<can::EditControls>::operator(org),
        &ctx,
        &tree,
        clause,
        &mamori_db::catalogue::ControlInput {
            title: "南麓の対策".into(),
            unit_id: root,
            status: mamori_db::catalogue::ControlStatus::NotStarted,
            exception_ref: String::new(),
            note: String::new(),
        },
        mamori_core::calendar::today_jst(),
    )
    .await
    .unwrap();
    let (evidence, _) = mamori_db::catalogue::evidence::add(
        &mut tx,
        &Capability::<can::EditControls>::operator(org),
        &ctx,
        &tree,
        control,
        "",
        "南麓の証跡.txt",
        "南麓".as_bytes(),
        1024,
    )
    .await
    .unwrap();
    let year = mamori_core::calendar::today_jst().year();
    let exception: i64 = sqlx::query_scalar(
        "INSERT INTO exception_request (org_id, ref_no, ref_year, ref_seq, clause_no, reason, scope, \
         valid_from, valid_to, unit_id, applicant_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, '2-4-4', '南麓の理由', '南麓', '2000-01-01', '2999-12-31', $4, $5, 'applied', $6, $6) \
         RETURNING id",
    )
    .bind(org_id)
    .bind(format!("例外-{year}-901"))
    .bind(i64::from(year))
    .bind(root)
    .bind(person)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Other {
        clause,
        control,
        evidence,
        exception,
    }
}

async fn counts(p: &Prober<'_>) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "std_clause",
        "std_control",
        "std_evidence",
        "exception_request",
    ] {
        out.push(p.app.count(table).await);
    }
    let versions: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM std_clause")
            .fetch_one(p.app.db.pool())
            .await
            .unwrap();
    let statuses: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM exception_request",
    )
    .fetch_one(p.app.db.pool())
    .await
    .unwrap();
    out.push(versions);
    out.push(statuses);
    out
}

/// As `Prober::hidden`, also proving that no catalogue or exception row changed.
async fn hidden(p: &mut Prober<'_>, template: &str, how: Send, other: &str, missing: &str) {
    let before = counts(p).await;
    p.hidden(template, how, other, missing, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(counts(p).await, before, "{other}: nothing written");
}

pub(crate) async fn probes(p: &mut Prober<'_>, org_id: i64, person: i64) {
    use crate::roster::{multipart, post_multipart};
    let o = build(p, org_id, person).await;
    let api = |m: Method| Send::Api(m, None);
    for template in [
        "/standards",
        "/standards/import",
        "/standards/mapping",
        "/exceptions",
        "/exceptions/new",
    ] {
        p.clean(template, Send::Page, template).await;
    }
    for template in ["/api/v1/standards", "/api/v1/exceptions"] {
        let r = p.clean(template, api(Method::GET), template).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = p
        .clean(
            "/api/v1/exceptions",
            api(Method::GET),
            "/api/v1/exceptions?state=active",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Clauses.
    let m = MISSING;
    for (template, suffix) in [
        ("/standards/clauses/{id}", ""),
        ("/standards/clauses/{id}/edit", "/edit"),
    ] {
        p.c.get("/standards").await;
        hidden(
            p,
            template,
            Send::Page,
            &format!("/standards/clauses/{}{suffix}", o.clause),
            &format!("/standards/clauses/{m}{suffix}"),
        )
        .await;
    }
    p.c.get("/standards").await;
    hidden(
        p,
        "/standards/clauses/{id}",
        form(&[("title", "x")]),
        &format!("/standards/clauses/{}", o.clause),
        &format!("/standards/clauses/{m}"),
    )
    .await;
    p.c.get("/standards").await;
    hidden(
        p,
        "/standards/clauses/{id}/controls",
        form(&[("title", "x"), ("unit_id", "1")]),
        &format!("/standards/clauses/{}/controls", o.clause),
        &format!("/standards/clauses/{m}/controls"),
    )
    .await;
    p.c.get("/standards").await;
    hidden(
        p,
        "/standards/controls/{id}",
        form(&[("title", "x"), ("unit_id", "1")]),
        &format!("/standards/controls/{}", o.control),
        &format!("/standards/controls/{m}"),
    )
    .await;
    hidden(
        p,
        "/standards/evidence/{id}",
        Send::Page,
        &format!("/standards/evidence/{}", o.evidence),
        &format!("/standards/evidence/{m}"),
    )
    .await;
    p.c.get("/standards/mapping").await;
    let (g_other, g_missing) = (format!("g_{}", o.clause), format!("g_{m}"));
    let before = counts(p).await;
    let a =
        p.c.post_form("/standards/mapping", &[(&g_other, "2-4-1")])
            .await;
    let b =
        p.c.post_form("/standards/mapping", &[(&g_missing, "2-4-1")])
            .await;
    same(&a, &b, StatusCode::NOT_FOUND, "", "mapping");
    assert_eq!(counts(p).await, before);
    p.covered
        .insert(("post".into(), "/standards/mapping".into()));
    // The evidence upload (multipart) and the imports (a parent only the other has).
    let before = counts(p).await;
    let mut answers = Vec::new();
    for id in [o.control, m] {
        p.c.get("/standards").await;
        let csrf = p.c.csrf.clone().unwrap();
        let body = multipart(&[("csrf", &csrf)], Some(("x.txt", b"x")));
        let r = post_multipart(
            &mut p.c,
            &format!("/standards/controls/{id}/evidence"),
            body,
        )
        .await;
        answers.push(r);
    }
    same(
        &answers[0],
        &answers[1],
        StatusCode::NOT_FOUND,
        "",
        "evidence upload",
    );
    p.covered
        .insert(("post".into(), "/standards/controls/{id}/evidence".into()));
    let mut answers = Vec::new();
    for parent in ["N第1条", "Z第9条"] {
        p.c.get("/standards/import").await;
        let csrf = p.c.csrf.clone().unwrap();
        let csv = format!("番号,見出し,本文,親番号\n第1条,目的,,{parent}\n");
        let body = multipart(&[("csrf", &csrf)], Some(("x.csv", csv.as_bytes())));
        let page = post_multipart(&mut p.c, "/standards/import", body).await;
        let token = p.token.clone();
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/standards/import?dry_run=true")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-file-name", "x.csv")
            .body(axum::body::Body::from(csv))
            .unwrap();
        let api_r = p.c.send(req).await;
        answers.push((page, api_r, parent));
    }
    let (pa, aa, va) = &answers[0];
    let (pb, ab, vb) = &answers[1];
    same_value(pa, pb, va, vb, "import page");
    same_value(aa, ab, va, vb, "import api");
    assert_eq!(counts(p).await, before, "nothing written");
    p.covered
        .insert(("post".into(), "/standards/import".into()));
    p.covered
        .insert(("post".into(), "/api/v1/standards/import".into()));

    // The API's clause, control and evidence routes.
    hidden(
        p,
        "/api/v1/standards/clauses/{id}",
        api(Method::GET),
        &format!("/api/v1/standards/clauses/{}", o.clause),
        &format!("/api/v1/standards/clauses/{m}"),
    )
    .await;
    hidden(
        p,
        "/api/v1/standards/clauses/{id}",
        Send::Api(Method::PUT, Some(json!({"title": "x"}))),
        &format!("/api/v1/standards/clauses/{}", o.clause),
        &format!("/api/v1/standards/clauses/{m}"),
    )
    .await;
    hidden(
        p,
        "/api/v1/standards/clauses/{id}/controls",
        Send::Api(Method::POST, Some(json!({"title": "x", "unit": "jimu"}))),
        &format!("/api/v1/standards/clauses/{}/controls", o.clause),
        &format!("/api/v1/standards/clauses/{m}/controls"),
    )
    .await;
    hidden(
        p,
        "/api/v1/standards/controls/{id}",
        Send::Api(Method::PUT, Some(json!({"title": "x", "unit": "jimu"}))),
        &format!("/api/v1/standards/controls/{}", o.control),
        &format!("/api/v1/standards/controls/{m}"),
    )
    .await;
    hidden(
        p,
        "/api/v1/standards/controls/{id}/evidence",
        Send::Api(Method::POST, Some(json!("x"))),
        &format!("/api/v1/standards/controls/{}/evidence", o.control),
        &format!("/api/v1/standards/controls/{m}/evidence"),
    )
    .await;
    hidden(
        p,
        "/api/v1/standards/evidence/{id}",
        api(Method::GET),
        &format!("/api/v1/standards/evidence/{}", o.evidence),
        &format!("/api/v1/standards/evidence/{m}"),
    )
    .await;

    // Exceptions.
    hidden(
        p,
        "/exceptions/{id}",
        Send::Page,
        &format!("/exceptions/{}", o.exception),
        &format!("/exceptions/{m}"),
    )
    .await;
    for action in ["endorse", "decide"] {
        p.c.get("/exceptions").await;
        let template = format!("/exceptions/{{id}}/{action}");
        hidden(
            p,
            &template,
            form(&[("decision", "approve"), ("comment", "x")]),
            &format!("/exceptions/{}/{action}", o.exception),
            &format!("/exceptions/{m}/{action}"),
        )
        .await;
        let template = format!("/api/v1/exceptions/{{id}}/{action}");
        hidden(
            p,
            &template,
            Send::Api(
                Method::POST,
                Some(json!({"decision": "approve", "comment": "x"})),
            ),
            &format!("/api/v1/exceptions/{}/{action}", o.exception),
            &format!("/api/v1/exceptions/{m}/{action}"),
        )
        .await;
    }
    hidden(
        p,
        "/api/v1/exceptions/{id}",
        api(Method::GET),
        &format!("/api/v1/exceptions/{}", o.exception),
        &format!("/api/v1/exceptions/{m}"),
    )
    .await;
    // Applying (the CISO does not apply): refused alike, the other's clause number aside.
    p.c.get("/exceptions").await;
    let before = counts(p).await;
    p.clean(
        "/exceptions",
        form(&[("clause_no", "N第1条"), ("reason", "x"), ("scope", "x")]),
        "/exceptions",
    )
    .await;
    p.clean("/api/v1/exceptions", Send::Api(Method::POST, Some(json!({"clause_no": "N第1条", "reason": "x", "valid_from": "2026-04-01", "valid_to": "2026-05-01"}))), "/api/v1/exceptions").await;
    assert_eq!(counts(p).await, before);
}

fn norm(r: &Resp, value: &str, replacement: &str) -> String {
    let mut body = r.body.replace(&request_id(r), "<request-id>");
    if !value.is_empty() {
        body = body.replace(value, replacement);
    }
    body
}

fn same(a: &Resp, b: &Resp, status: StatusCode, value: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert_eq!(a.status, b.status, "{what}");
    assert_clean_body(a.status, &a.body, what);
    assert_eq!(
        norm(a, value, "<v>"),
        norm(b, value, "<v>"),
        "{what}: answered alike"
    );
}

/// Two answers alike once the value each was given (`va`, `vb`) is set aside.
fn same_value(a: &Resp, b: &Resp, va: &str, vb: &str, what: &str) {
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        a.body
    );
    assert_eq!(a.status, b.status, "{what}");
    let na = norm(a, va, "<v>");
    let nb = norm(b, vb, "<v>");
    assert_clean_body(a.status, &na, what);
    // The CSRF token of the page differs between requests only in the form field.
    let strip = |s: &str| {
        s.split("name=\"csrf\" value=\"")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_owned()
                } else {
                    part.split_once('"').map(|x| x.1).unwrap_or("").to_owned()
                }
            })
            .collect::<String>()
    };
    assert_eq!(strip(&na), strip(&nb), "{what}: answered alike");
}
