//! The event-sourcing surface: operator stats, time travel across snapshot
//! boundaries, the DailySummary read model, and the admin view of every
//! read model with its lag — plus bad input on each new route.

use std::collections::BTreeMap;

use ledgerline::{Application, Target};
use ledgerline_bus::Bus;
use ledgerline_domain::major;
use ledgerline_runtime::Shutdown;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, answer, minor, spawn_app, spawn_app_with};

/// Waits until every command has an outcome; returns their statuses.
async fn decided(app: &TestApp, token: &str, ids: &[String]) -> Vec<String> {
    let mut statuses = Vec::new();
    for id in ids {
        let outcome = app
            .eventually(token, &format!("/commands/{id}"), |b| {
                b["status"] != "accepted"
            })
            .await;
        statuses.push(outcome["status"].as_str().unwrap().to_owned());
    }
    statuses
}

/// Sends a request and checks that the answer is a problem document with
/// `expect` as its status.
async fn refused(app: &TestApp, method: Method, path: &str, token: Option<&str>, expect: u16) {
    let mut request = app.http.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap())
        .await
        .assert_problem(expect, &format!("{method} {path}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_a_known_history_for_operators_only() {
    let app = spawn_app_with(|c| c.snapshot_every = 3).await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    let empty = app.get(&ops, "/stats").await.1;
    assert_eq!(
        (
            &empty["totalEvents"],
            &empty["commands"],
            &empty["headPosition"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );

    let mut ids = vec![app.open_account_with(&alice, "acc-1", 100).await];
    for (kind, amount) in [("deposit", "10"), ("deposit", "5"), ("withdraw", "3")] {
        let body = json!({"accountId": "acc-1", "amount": amount});
        ids.push(app.accepted(&alice, kind, body).await);
    }
    ids.push(
        app.accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-1", "amount": "1000"}),
        )
        .await,
    );
    ids.push(app.open_account(&bob, "acc-2").await);
    let not_owner = app.deposit(&bob, "acc-1", 1).await;
    let mut statuses = decided(&app, &alice, &ids[..5]).await;
    statuses.extend(decided(&app, &bob, &[ids[5].clone(), not_owner]).await);
    assert_eq!(
        statuses,
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "rejected",
            "succeeded",
            "rejected"
        ]
    );

    let response = app
        .http
        .get(app.url("/stats?limit=1"))
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["link"],
        r#"</stats?after=acc-1&limit=1>; rel="next""#
    );
    let stats: Value = response.json().await.unwrap();
    // acc-1: opened, two deposits, a withdrawal (a snapshot at version 3);
    // acc-2: opened. Two rejections stored as outcomes, with no events.
    assert_eq!(
        (
            &stats["totalEvents"],
            &stats["totalAggregates"],
            &stats["totalSnapshots"]
        ),
        (&json!(5), &json!(2), &json!(1))
    );
    assert_eq!(
        stats["eventsByType"],
        json!({"AccountOpened": 2, "MoneyDeposited": 2, "MoneyWithdrawn": 1})
    );
    assert_eq!(stats["commands"], 7);
    assert_eq!(
        stats["commandsByStatus"],
        json!({"succeeded": 5, "rejected": 2, "failed": 0})
    );
    assert!(stats["headPosition"].as_i64().unwrap() >= 5, "{stats}");
    assert_eq!(
        (&stats["aggregates"], &stats["nextAfter"]),
        (
            &json!([{"aggregate": "acc-1", "eventCount": 4, "latestVersion": 4}]),
            &json!("acc-1")
        )
    );
    // The last page says so: no next page, no Link, never an empty page.
    let response = app
        .http
        .get(app.url("/stats?after=acc-1&limit=1"))
        .bearer_auth(&ops)
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("link").is_none());
    let page2: Value = response.json().await.unwrap();
    assert_eq!(
        (&page2["aggregates"], &page2["nextAfter"]),
        (
            &json!([{"aggregate": "acc-2", "eventCount": 1, "latestVersion": 1}]),
            &Value::Null
        )
    );
    let (_, past) = app.get(&ops, "/stats?after=acc-2").await;
    assert_eq!(
        (&past["aggregates"], &past["nextAfter"]),
        (&json!([]), &Value::Null)
    );

    refused(&app, Method::GET, "/stats", Some(&alice), 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_travel_by_version_and_by_time_across_snapshot_boundaries() {
    let app = spawn_app_with(|c| c.snapshot_every = 3).await;
    let alice = app.token("alice").await;
    app.open_account(&alice, "acc-t").await;
    for amount in 1..=5 {
        let body = json!({"accountId": "acc-t", "amount": amount});
        app.accepted(&alice, "deposit", body).await;
    }
    // Versions 1 (opened) to 6; snapshots at 3 and 6.
    let now = app
        .eventually(&alice, "/queries/account/acc-t", |b| b["version"] == 6)
        .await;
    assert_eq!(now["balance"], "15.00");
    assert!(now.get("rebuiltFrom").is_none(), "{now}");

    let balances = ["0.00", "1.00", "3.00", "6.00", "10.00", "15.00"];
    for version in 1..=6_i64 {
        let (status, then) = app
            .get(&alice, &format!("/queries/account/acc-t?version={version}"))
            .await;
        assert_eq!(status, 200, "{then}");
        let snapshot = match version {
            1..=2 => None,
            3..=5 => Some(3),
            _ => Some(6),
        };
        assert_eq!(
            (&then["version"], &then["balance"], &then["status"]),
            (
                &json!(version),
                &json!(balances[version as usize - 1]),
                &json!("open")
            )
        );
        assert_eq!(
            then["rebuiltFrom"],
            json!({"snapshotVersion": snapshot, "eventsReplayed": version - snapshot.unwrap_or(0)}),
            "version {version}"
        );
    }

    // As of each event's own timestamp: exactly the events up to it.
    let (_, events) = app.get(&alice, "/events/account/acc-t").await;
    for event in events.as_array().unwrap() {
        let stamp = event["metadata"]["timestamp"].as_str().unwrap();
        let (status, then) = app
            .get(&alice, &format!("/queries/account/acc-t?asOf={stamp}"))
            .await;
        assert_eq!(status, 200, "{then}");
        assert_eq!(then["version"], event["version"], "as of {stamp}");
        assert_eq!(
            minor(&then["balance"]),
            Some(minor(&event["data"]["balanceAfter"]).unwrap_or(0))
        );
        assert!(
            then["asOf"].as_str().is_some_and(|s| !s.is_empty()),
            "{then}"
        );
    }
    // The same instant written with an offset (the + encoded as %2B).
    let last = &events[5];
    let stamp = last["metadata"]["timestamp"].as_str().unwrap();
    let t =
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).unwrap();
    let shifted = t
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('+', "%2B");
    let (_, then) = app
        .get(&alice, &format!("/queries/account/acc-t?asOf={shifted}"))
        .await;
    assert_eq!(
        (&then["version"], &then["balance"]),
        (&json!(6), &json!("15.00"))
    );
    assert_eq!(then["rebuiltFrom"]["snapshotVersion"], 6);

    // Before the account existed, beyond its history, someone else's.
    refused(
        &app,
        Method::GET,
        "/queries/account/acc-t?asOf=2000-01-01T00:00:00Z",
        Some(&alice),
        404,
    )
    .await;
    refused(
        &app,
        Method::GET,
        "/queries/account/acc-t?version=7",
        Some(&alice),
        404,
    )
    .await;
    let bob = app.token("bob").await;
    refused(
        &app,
        Method::GET,
        "/queries/account/acc-t?version=1",
        Some(&bob),
        403,
    )
    .await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    assert_eq!(
        app.get(&ops, "/queries/account/acc-t?version=2").await.1["balance"],
        "1.00"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_summary_sums_each_days_money_in_and_out_per_currency() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    // Opening balances are neither deposits nor withdrawals.
    app.open_account_with(&alice, "acc-e", 100).await;
    app.accepted(
        &alice,
        "open-account",
        json!({"accountId": "acc-u", "currency": "USD"}),
    )
    .await;
    app.open_account(&bob, "acc-b").await;
    let mut ids = Vec::new();
    for (kind, account, amount) in [
        ("deposit", "acc-e", "10.50"),
        ("deposit", "acc-e", "2"),
        ("withdraw", "acc-e", "3.25"),
        ("withdraw", "acc-e", "5000"), // rejected: changes nothing
        ("deposit", "acc-u", "1"),
    ] {
        let body = json!({"accountId": account, "amount": amount});
        ids.push(app.accepted(&alice, kind, body).await);
    }
    app.deposit(&bob, "acc-b", 7).await;
    decided(&app, &alice, &ids).await;

    // What the events say, per (UTC day, currency): the expected summary,
    // computed from the event log (a run across midnight splits days).
    let mut expected: BTreeMap<(String, &str), [i64; 4]> = BTreeMap::new();
    for (account, currency) in [("acc-e", "EUR"), ("acc-u", "USD")] {
        let (_, events) = app.get(&alice, &format!("/events/account/{account}")).await;
        for e in events.as_array().unwrap() {
            let day = e["metadata"]["timestamp"].as_str().unwrap()[..10].to_owned();
            let amount = minor(&e["data"]["amount"]).unwrap_or(0);
            let row = expected.entry((day, currency)).or_default();
            match e["eventType"].as_str().unwrap() {
                "MoneyDeposited" => (row[0], row[2]) = (row[0] + amount, row[2] + 1),
                "MoneyWithdrawn" => (row[1], row[3]) = (row[1] + amount, row[3] + 1),
                _ => {}
            }
        }
    }
    expected.retain(|_, row| row != &[0; 4]);
    let expected: Vec<Value> = expected
        .into_iter()
        .map(|((day, currency), [d, w, dc, wc])| {
            json!({"day": day, "currency": currency, "deposits": major(d), "withdrawals": major(w),
                   "netChange": major(d - w), "depositCount": dc, "withdrawalCount": wc})
        })
        .collect();
    let totals = |items: &Value, field: &str| -> i64 {
        items.as_array().map_or(0, |a| {
            a.iter()
                .map(|i| i[field].as_i64().or_else(|| minor(&i[field])).unwrap_or(0))
                .sum()
        })
    };
    let summary = app
        .eventually(&alice, "/projections/DailySummary", |b| {
            totals(&b["items"], "depositCount") + totals(&b["items"], "withdrawalCount") == 4
        })
        .await;
    assert_eq!(summary["items"], json!(expected), "{summary}");
    assert_eq!(totals(&summary["items"], "deposits"), 1250 + 100);
    assert_eq!(totals(&summary["items"], "withdrawals"), 325);
    assert_eq!(totals(&summary["items"], "netChange"), 1250 + 100 - 325);

    // The range is inclusive on both ends.
    let first = summary["items"][0]["day"].as_str().unwrap();
    let last = summary["items"][expected.len() - 1]["day"]
        .as_str()
        .unwrap();
    let (_, ranged) = app
        .get(
            &alice,
            &format!("/projections/DailySummary?from={first}&to={last}"),
        )
        .await;
    assert_eq!(ranged["items"], summary["items"]);
    assert_eq!(
        (&ranged["from"], &ranged["to"]),
        (&json!(first), &json!(last))
    );
    let (_, later) = app
        .get(&alice, "/projections/DailySummary?from=2999-01-01")
        .await;
    assert_eq!(later["items"], json!([]));
    let (_, earlier) = app
        .get(&alice, "/projections/DailySummary?to=2000-01-01")
        .await;
    assert_eq!(earlier["items"], json!([]));

    // Bob sees only his own day.
    let bobs = app
        .eventually(&bob, "/projections/DailySummary", |b| {
            b["items"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(totals(&bobs["items"], "deposits"), 700);
    assert_eq!(bobs["items"][0]["currency"], "EUR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_model_is_listed_live_and_its_lag_converges_to_zero() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut ids = vec![app.open_account(&alice, "acc-p").await];
    for amount in 1..=4 {
        let body = json!({"accountId": "acc-p", "amount": amount});
        ids.push(app.accepted(&alice, "deposit", body).await);
    }
    decided(&app, &alice, &ids).await;

    // Every projector answers for itself, under its Projector::NAME.
    let caught_up = |b: &Value| {
        b["headPosition"] == 5
            && b["items"].as_array().is_some_and(|items| {
                items.len() == 4 && items.iter().all(|i| i["lag"] == 0 && i["checkpoint"] == 5)
            })
    };
    let overview = app.eventually(&alice, "/projections", caught_up).await;
    let names: Vec<&str> = overview["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "AccountBalances",
            "TransactionHistory",
            "AuditLog",
            "DailySummary"
        ]
    );
    for item in overview["items"].as_array().unwrap() {
        assert_eq!(item["status"], "live", "{item}");
        assert_eq!(item["eventsApplied"], 5, "{item}");
        assert!(item["lastUpdated"].is_string(), "{item}");
    }

    // One by name; the read models' own routes carry the same fields (the
    // static routes win over the capture, in one merged router).
    let (status, audit) = app.get(&alice, "/projections/AuditLog").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        (&audit["name"], &audit["status"], &audit["lag"]),
        (&json!("AuditLog"), &json!("live"), &json!(0))
    );
    for name in ["AccountBalances", "TransactionHistory"] {
        let (status, body) = app.get(&alice, &format!("/projections/{name}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (
                &body["name"],
                &body["status"],
                &body["lag"],
                &body["checkpoint"]
            ),
            (&json!(name), &json!("live"), &json!(0), &json!(5)),
            "{body}"
        );
        assert!(
            body["items"].as_array().is_some_and(|i| !i.is_empty()),
            "{body}"
        );
    }
    let (_, summary) = app.get(&alice, "/projections/DailySummary").await;
    assert_eq!(summary["name"], "DailySummary");
    refused(
        &app,
        Method::GET,
        "/projections/Nonsense",
        Some(&alice),
        404,
    )
    .await;

    // More events: lag appears only until the projectors catch up again.
    let more = app.deposit(&alice, "acc-p", 1).await;
    decided(&app, &alice, &[more]).await;
    app.eventually(&alice, "/projections", |b| {
        b["headPosition"] == 6
            && b["items"]
                .as_array()
                .is_some_and(|items| items.iter().all(|i| i["lag"] == 0))
    })
    .await;
}

/// The series on `/metrics` whose name and labels are `series`, with its value.
fn gauge(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// Lag is a Prometheus gauge too, for every projector: the store head
/// minus its checkpoint, and its durable consumer's pending messages.
/// (The recorder is process-wide, shared by the apps of parallel tests, so
/// only the series and their sanity are asserted, not this app's values.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_projectors_lag_is_on_metrics() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let opened = app.open_account(&alice, "acc-m").await;
    decided(&app, &alice, &[opened]).await;

    let series = [
        r#"ledgerline_projection_lag_events{projection="AccountBalances"}"#,
        r#"ledgerline_projection_lag_events{projection="TransactionHistory"}"#,
        r#"ledgerline_projection_lag_events{projection="AuditLog"}"#,
        // The read models of `all` share one event feed.
        r#"ledgerline_consumer_pending{consumer="audit-service_balance-service_history-service"}"#,
        r#"ledgerline_consumer_pending{consumer="audit-service-status"}"#,
    ];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let metrics = response.text().await.unwrap();
        let values: Vec<Option<f64>> = series.iter().map(|s| gauge(&metrics, s)).collect();
        if values.iter().all(Option::is_some) {
            for (series, value) in series.iter().zip(values) {
                let value = value.unwrap();
                assert!(value >= 0.0 && value.fract() == 0.0, "{series} {value}");
            }
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing from /metrics: {:?}",
            series
                .iter()
                .zip(&values)
                .filter(|(_, v)| v.is_none())
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balance_service_alone_serves_projections_and_names_what_did_not_answer() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    // A process running only the balance service, on a NATS prefix of its
    // own: no other projector and no processor can answer it.
    let mut config = app.config.clone();
    config.nats_prefix = format!("{}x", config.nats_prefix);
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let shutdown = Shutdown::new();
    let alone = Application::build(config.clone(), &[Target::BalanceService], shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", alone.port());
    let server = tokio::spawn(async move { alone.run().await.unwrap() });
    let mut answers = Vec::new();
    for path in [
        "/projections",
        "/projections/TransactionHistory",
        "/projections/AccountBalances",
    ] {
        let response = app
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        answers.push((
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        ));
    }
    shutdown.cancel();
    let _ = server.await;
    let bus = Bus::connect(&config.nats_url, &config.nats_prefix, 1)
        .await
        .unwrap();
    bus.delete_streams().await.unwrap();

    let (status, overview) = &answers[0];
    assert_eq!(*status, 200, "{overview}");
    assert_eq!(overview["headPosition"], Value::Null);
    let listed: Vec<(&str, &str)> = overview["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("AccountBalances", "live"),
            ("TransactionHistory", "unreachable"),
            ("AuditLog", "unreachable"),
            ("DailySummary", "live")
        ]
    );
    assert_eq!(overview["items"][0]["lag"], Value::Null, "no head, no lag");
    // Without the history service in this process, its path is not served
    // here (the edge routes it to history-service): 404, no other shape.
    assert_eq!(answers[1].0, 404, "{}", answers[1].1);
    let (status, balances) = &answers[2];
    assert_eq!(*status, 200, "{balances}");
    assert_eq!(
        (&balances["status"], &balances["items"]),
        (&json!("live"), &json!([]))
    );
}

async fn readyz(http: &reqwest::Client, base: &str) -> (u16, Value) {
    let response = http.get(format!("{base}/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `/readyz` until it answers `want` (15 s at most); the last answer.
async fn readyz_until(http: &reqwest::Client, base: &str, want: u16) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let answer = readyz(http, base).await;
        if answer.0 == want || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A projector is ready only while its durable consumer is bound: a new
/// history read model that is waiting for the processor (to replay the
/// event store first) is red although its database answers, and turns
/// green once it follows the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_is_not_ready_until_its_consumer_is_bound() {
    let app = spawn_app().await;
    let (status, all) = readyz_until(&app.http, &app.base, 200).await;
    assert_eq!(status, 200, "{all}");
    for service in ["balance-service", "history-service", "audit-service"] {
        assert_eq!(all["checks"][format!("{service}.consumer")], "ok", "{all}");
    }
    assert_eq!(
        all["checks"]["audit-service.status-consumer"], "ok",
        "{all}"
    );

    // A history service on a NATS prefix of its own, where no processor
    // runs yet. Nothing is applied and it has no consumer there: it waits
    // to replay the event store before binding one.
    let mut config = app.config.clone();
    config.nats_prefix = format!("{}r", config.nats_prefix);
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let shutdown = Shutdown::new();
    let history = Application::build(config.clone(), &[Target::HistoryService], shutdown.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", history.port());
    let history = tokio::spawn(async move { history.run().await.unwrap() });
    let waiting = readyz(&app.http, &base).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let still_waiting = readyz(&app.http, &base).await;
    // The event store's owner arrives: the replay ends and the consumer is
    // bound.
    let mut processor_config = config.clone();
    processor_config.http_addr = "127.0.0.1:0".parse().unwrap();
    let processor = Application::build(
        processor_config,
        &[Target::CommandProcessor, Target::EventStore],
        shutdown.clone(),
    )
    .await
    .unwrap();
    let processor = tokio::spawn(async move { processor.run().await.unwrap() });
    let following = readyz_until(&app.http, &base, 200).await;
    shutdown.cancel();
    let _ = tokio::join!(history, processor);
    let bus = Bus::connect(&config.nats_url, &config.nats_prefix, 1)
        .await
        .unwrap();
    bus.delete_streams().await.unwrap();

    for (status, body) in [waiting, still_waiting] {
        assert_eq!(status, 503, "{body}");
        let checks = &body["checks"];
        assert_eq!(checks["history-service.postgres"], "ok", "{body}");
        assert_ne!(checks["history-service.consumer"], "ok", "{body}");
    }
    let (status, body) = following;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["history-service.consumer"], "ok", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_sourcing_requests_get_problem_documents() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    app.open_account(&alice, "acc-x").await;
    app.eventually(&alice, "/queries/account/acc-x", |b| b["version"] == 1)
        .await;
    let (a, o) = (Some(alice.as_str()), Some(ops.as_str()));
    let cases: Vec<(Method, &str, Option<&str>, u16)> = vec![
        // /stats
        (Method::GET, "/stats", None, 401),
        (Method::GET, "/stats", a, 403),
        (Method::GET, "/stats?limit=0", o, 422),
        (Method::GET, "/stats?limit=1001", o, 422),
        (Method::GET, "/stats?limit=abc", o, 400),
        (Method::GET, "/stats?after=a.b", o, 422),
        (Method::GET, "/stats?after=", o, 422),
        (Method::GET, "/stats?bogus=1", o, 400),
        (Method::POST, "/stats", o, 405),
        // time travel
        (Method::GET, "/queries/account/acc-x?version=0", a, 422),
        (Method::GET, "/queries/account/acc-x?version=-1", a, 422),
        (Method::GET, "/queries/account/acc-x?version=abc", a, 400),
        (Method::GET, "/queries/account/acc-x?version=1.5", a, 400),
        (Method::GET, "/queries/account/acc-x?version=99", a, 404),
        (
            Method::GET,
            "/queries/account/acc-x?version=1&asOf=2026-11-22T10:00:00Z",
            a,
            422,
        ),
        (Method::GET, "/queries/account/acc-x?asOf=yesterday", a, 422),
        (Method::GET, "/queries/account/acc-x?asOf=", a, 422),
        (
            Method::GET,
            "/queries/account/acc-x?asOf=2026-11-22",
            a,
            422,
        ),
        (
            Method::GET,
            "/queries/account/acc-x?asOf=2026-11-22T10:00:00",
            a,
            422,
        ),
        // An unencoded + is a space in a query string.
        (
            Method::GET,
            "/queries/account/acc-x?asOf=2026-11-22T10:00:00+01:00",
            a,
            422,
        ),
        (
            Method::GET,
            "/queries/account/acc-x?asOf=2000-01-01T00:00:00Z",
            a,
            404,
        ),
        (Method::GET, "/queries/account/acc-x?versoin=1", a, 400),
        (Method::GET, "/queries/account/a.b?version=1", a, 422),
        (Method::GET, "/queries/account/nobody?version=1", a, 404),
        (Method::GET, "/queries/account/acc-x?version=1", None, 401),
        // DailySummary
        (Method::GET, "/projections/DailySummary", None, 401),
        (
            Method::GET,
            "/projections/DailySummary?from=2026-13-01",
            a,
            422,
        ),
        (
            Method::GET,
            "/projections/DailySummary?from=2026-02-30",
            a,
            422,
        ),
        (Method::GET, "/projections/DailySummary?to=tomorrow", a, 422),
        (
            Method::GET,
            "/projections/DailySummary?to=2026-1-01",
            a,
            422,
        ),
        (
            Method::GET,
            "/projections/DailySummary?from=2026-11-02&to=2026-11-01",
            a,
            422,
        ),
        (
            Method::GET,
            "/projections/DailySummary?day=2026-11-01",
            a,
            400,
        ),
        (Method::DELETE, "/projections/DailySummary", a, 405),
        // /projections and /projections/AuditLog
        (Method::GET, "/projections", None, 401),
        (Method::GET, "/projections/AuditLog", None, 401),
        (Method::GET, "/projections/Nonsense", a, 404),
        (Method::GET, "/projections/accountbalances", a, 404),
        (Method::POST, "/projections", a, 405),
        (Method::PUT, "/projections/AuditLog", a, 405),
    ];
    for (method, path, token, expect) in cases {
        refused(&app, method, path, token, expect).await;
    }
    assert_eq!(app.get(&alice, "/healthz").await.0, 200);
}
