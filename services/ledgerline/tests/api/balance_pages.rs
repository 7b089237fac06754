//! `GET /projections/AccountBalances` in pages (issue 11, D): keyset paging
//! by account id with an RFC 8288 `Link: <…>; rel="next"`, so 300 accounts
//! are never one huge answer.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, answer, spawn_app};

const ACCOUNTS: usize = 250;

pub(crate) async fn page(app: &TestApp, token: &str, path: &str) -> (u16, Option<String>, Value) {
    let response = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, link, response.json().await.unwrap_or(Value::Null))
}

/// The target of a `Link: <target>; rel="next"` header.
pub(crate) fn next_target(link: &str) -> &str {
    assert!(link.ends_with(r#">; rel="next""#), "{link}");
    link.trim_start_matches('<')
        .split_once('>')
        .map(|(target, _)| target)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_accounts_come_in_linked_pages_each_account_once() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let ids: Vec<String> = (0..ACCOUNTS).map(|n| format!("acc-{n:03}")).collect();
    for chunk in ids.chunks(25) {
        join_all(
            chunk
                .iter()
                .map(|id| app.accepted(&alice, "open-account", json!({ "accountId": id }))),
        )
        .await;
    }
    app.open_account(&bob, "acc-bob").await;
    // The last page fills once every account is projected.
    app.eventually(
        &alice,
        "/projections/AccountBalances?after=acc-199&limit=100",
        |b| b["items"].as_array().is_some_and(|i| i.len() == 50),
    )
    .await;

    let mut seen = Vec::new();
    let mut links = Vec::new();
    let mut path = "/projections/AccountBalances?limit=100".to_owned();
    loop {
        let (status, link, body) = page(&app, &alice, &path).await;
        assert_eq!(status, 200, "{body}");
        // The shape is unchanged: the read model's status beside `items`.
        assert_eq!(body["name"], "AccountBalances");
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["accountId"].as_str().unwrap().to_owned()),
        );
        match link {
            Some(link) => {
                path = next_target(&link).to_owned();
                links.push(link);
            }
            None => break,
        }
        assert!(links.len() < 10, "no end to the pages: {links:?}");
    }
    assert_eq!(
        links,
        [
            r#"</projections/AccountBalances?after=acc-099&limit=100>; rel="next""#,
            r#"</projections/AccountBalances?after=acc-199&limit=100>; rel="next""#,
        ]
    );
    assert_eq!(seen, ids, "every account once, in order, nobody else's");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), ACCOUNTS);

    // The default page is 100; a page that ends exactly at the last account
    // has no next link.
    let (_, link, body) = page(&app, &alice, "/projections/AccountBalances").await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(100));
    assert!(link.is_some());
    let (_, link, body) = page(
        &app,
        &alice,
        "/projections/AccountBalances?after=acc-149&limit=100",
    )
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(100));
    assert_eq!(link, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paging_parameters_are_422_problem_documents() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    for query in [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "after=acc.1",
        "after=",
        "after=a%20b",
    ] {
        let response = app
            .http
            .get(app.url(&format!("/projections/AccountBalances?{query}")))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        let problem = answer(response).await;
        problem.assert_problem(422, query);
        let field = query.split('=').next().unwrap();
        assert_eq!(
            problem.fields().first(),
            Some(&field),
            "{query}: {}",
            problem.body
        );
    }
    let (status, link, _) = page(&app, &alice, "/projections/AccountBalances?limit=500").await;
    assert_eq!((status, link), (200, None));
}
