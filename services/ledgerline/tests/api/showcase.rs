//! The event-sourcing showcase's seed workflow, with its exact request
//! bodies: an account's lifecycle, replaying its events into a rebuilt
//! read model, and the analytics over it (daily summary, operator stats).

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::balance_pages::{next_target, page};
use crate::helpers::{TestApp, spawn_app};

const ACCOUNT: &str = "acc-999";

/// Opens acc-999 with 1000, deposits 500 and withdraws 200, each decided
/// before the next is sent; returns the user's token.
async fn seed(app: &TestApp) -> String {
    let token = app.token("showcase").await;
    for (kind, body) in [
        (
            "open-account",
            json!({"accountId": ACCOUNT, "initialBalance": 1000}),
        ),
        ("deposit", json!({"accountId": ACCOUNT, "amount": 500})),
        ("withdraw", json!({"accountId": ACCOUNT, "amount": 200})),
    ] {
        let id = app.accepted(&token, kind, body).await;
        let outcome = app.outcome(&token, &id).await;
        assert_eq!(outcome["status"], "succeeded", "{kind}: {outcome}");
    }
    token
}

fn types(transactions: &Value) -> Vec<&str> {
    transactions
        .as_array()
        .map(|list| list.iter().filter_map(|t| t["type"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showcase_account_lifecycle_reads_back_in_major_units_with_its_transactions() {
    let app = spawn_app().await;
    let token = seed(&app).await;

    let (status, account) = app.get(&token, "/queries/account/acc-999").await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(
        (
            &account["balance"],
            &account["id"],
            &account["accountId"],
            &account["version"],
            &account["isActive"],
            &account["transactionCount"],
        ),
        (
            &json!("1300.00"),
            &json!(ACCOUNT),
            &json!(ACCOUNT),
            &json!(3),
            &json!(true),
            &json!(2)
        ),
        "{account}"
    );
    // The opening balance is where the account starts, not a transaction.
    let transactions = &account["transactions"];
    assert_eq!(types(transactions), ["deposit", "withdrawal"], "{account}");
    assert_eq!(transactions[0]["amount"], "500.00");
    assert_eq!(transactions[1]["amount"], "200.00");
    let stamps: Vec<OffsetDateTime> = [&transactions[0], &transactions[1]]
        .iter()
        .map(|t| OffsetDateTime::parse(t["timestamp"].as_str().unwrap(), &Rfc3339).unwrap())
        .collect();
    assert!(stamps[0] <= stamps[1], "oldest first: {account}");

    // As it was: the transactions up to that point only.
    let (status, then) = app.get(&token, "/queries/account/acc-999?version=2").await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(
        (&then["balance"], &then["transactionCount"]),
        (&json!("1500.00"), &json!(1)),
        "{then}"
    );
    assert_eq!(types(&then["transactions"]), ["deposit"]);
    let (_, opened) = app.get(&token, "/queries/account/acc-999?version=1").await;
    assert_eq!(
        (&opened["balance"], &opened["transactions"]),
        (&json!("1000.00"), &json!([])),
        "{opened}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showcase_event_replay_rebuilds_the_same_balance() {
    let app = spawn_app().await;
    let token = seed(&app).await;

    let (status, events) = app.get(&token, "/events/account/acc-999").await;
    assert_eq!(status, 200, "{events}");
    let event_types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        event_types,
        ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn"]
    );

    let balance_of = |b: &Value| b["data"]["balances"][ACCOUNT]["balance"].clone();
    let before = app
        .eventually(&token, "/projections/AccountBalances", |b| {
            b["lastProcessedEvent"] == 3
        })
        .await;
    assert_eq!(balance_of(&before), "1300.00", "{before}");
    assert_eq!(before["name"], "AccountBalances");
    assert_eq!(before["lastProcessedVersion"], 3, "{before}");

    // Rebuilding is an operator's act (the showcase's user may not).
    let ops = app.token_with_role("ops", Some("operator")).await;
    let rebuild = |token: String| {
        app.http
            .post(app.url("/projections/rebuild"))
            .bearer_auth(token)
            .json(&json!({"name": "AccountBalances"}))
            .send()
    };
    assert_eq!(rebuild(token.clone()).await.unwrap().status(), 403);
    let response = rebuild(ops.clone()).await.unwrap();
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    let id = started["rebuildId"].clone();
    app.eventually(&ops, "/projections", |b| {
        b["items"].as_array().is_some_and(|items| {
            items.iter().any(|p| {
                p["name"] == "AccountBalances"
                    && p["status"] == "live"
                    && p["lastRebuild"]["id"] == id
                    && p["lastRebuild"]["outcome"] == "completed"
            })
        })
    })
    .await;

    let (status, after) = app.get(&token, "/projections/AccountBalances").await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(balance_of(&after), "1300.00", "{after}");
    assert_eq!(after["lastProcessedEvent"], 3, "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showcase_analytics_sum_the_days_and_count_the_store() {
    let app = spawn_app().await;
    let token = seed(&app).await;

    // The daily summary counts money moved by deposits, withdrawals and
    // transfers (balance-service `movement`); AccountOpened moves none, so
    // the initial 1000 is not a deposit: deposits 500, withdrawals 200,
    // net change +300 (not 1500 / 1300).
    let daily = app
        .eventually(&token, "/projections/DailySummary", |b| {
            b["data"]["summary"]["withdrawals"] == "200.00"
        })
        .await;
    assert_eq!(
        daily["data"]["summary"],
        json!({
            "currency": "EUR",
            "deposits": "500.00",
            "withdrawals": "200.00",
            "netChange": "300.00",
            "depositCount": 1,
            "withdrawalCount": 1
        }),
        "{daily}"
    );
    let (_, overview) = app.get(&token, "/projections").await;
    assert!(
        overview["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "DailySummary"),
        "{overview}"
    );

    // This app's store holds only the seed: exactly its three events.
    let ops = app.token_with_role("ops", Some("operator")).await;
    let (status, stats) = app.get(&ops, "/stats").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (&stats["totalEvents"], &stats["totalAggregates"]),
        (&json!(3), &json!(1)),
        "{stats}"
    );
    assert!(stats["totalSnapshots"].is_i64(), "{stats}");
    assert_eq!(
        stats["eventsByType"],
        json!({"AccountOpened": 1, "MoneyDeposited": 1, "MoneyWithdrawn": 1})
    );
    assert_eq!(
        (&stats["aggregates"], &stats["nextAfter"]),
        (
            &json!([{"aggregate": ACCOUNT, "eventCount": 3, "latestVersion": 3}]),
            &Value::Null
        ),
        "{stats}"
    );
    let (status, _) = app.get(&token, "/stats").await;
    assert_eq!(status, 403, "stats are for operators");
}

/// Follows `Link: rel="next"` from `path`: every page is a JSON array of
/// events, all full but the last; returns the pages' lengths and the
/// events' values of `cursor`, in order.
async fn event_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    cursor: &str,
) -> (Vec<usize>, Vec<i64>) {
    let (mut lengths, mut cursors) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_owned());
    while let Some(path) = next.take() {
        let (status, link, body) = page(app, token, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let events = body
            .as_array()
            .unwrap_or_else(|| panic!("{path}: not an array: {body}"));
        lengths.push(events.len());
        cursors.extend(events.iter().filter_map(|e| e[cursor].as_i64()));
        next = link.map(|l| next_target(&l).to_owned());
        assert!(lengths.len() <= 10, "the pages never end: {lengths:?}");
    }
    (lengths, cursors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_routes_answer_arrays_paged_by_link_headers() {
    let app = spawn_app().await;
    let token = seed(&app).await;
    let id = app
        .accepted(
            &token,
            "deposit",
            json!({"accountId": ACCOUNT, "amount": 1}),
        )
        .await;
    assert_eq!(app.outcome(&token, &id).await["status"], "succeeded");

    // Four events, two a page: a full page always links on (whether more
    // follow is known only by reading on); a short or empty page ends.
    let (lengths, versions) = event_pages(
        &app,
        &token,
        &format!("/events/account/{ACCOUNT}?limit=2"),
        "version",
    )
    .await;
    assert_eq!((lengths, versions), (vec![2, 2, 0], vec![1, 2, 3, 4]));
    let (lengths, versions) = event_pages(
        &app,
        &token,
        &format!("/events/account/{ACCOUNT}?limit=3"),
        "version",
    )
    .await;
    assert_eq!((lengths, versions), (vec![3, 1], vec![1, 2, 3, 4]));

    // The user's slice of the global log pages the same way (it is served
    // up to the store's safe mark, which may trail the last commit a moment).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let (lengths, positions) = loop {
        let (lengths, positions) =
            event_pages(&app, &token, "/events/stream?limit=3", "globalPosition").await;
        if positions.len() == 4 || tokio::time::Instant::now() >= deadline {
            break (lengths, positions);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(lengths, [3, 1]);
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}
