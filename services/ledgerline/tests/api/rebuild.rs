//! Zero-downtime rebuild of a read model (`POST /projections/rebuild`):
//! the rebuilt copy equals the event store under concurrent writes, the
//! live copy keeps answering throughout, and the route refuses what it
//! must.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use ledgerline_testkit::Answer;

use crate::helpers::{TestApp, answer, spawn_app, spawn_services};

const ACCOUNTS: [&str; 4] = ["acc-r1", "acc-r2", "acc-r3", "acc-r4"];

async fn post_rebuild(app: &TestApp, token: Option<&str>, body: &str) -> Answer {
    let mut request = app
        .http
        .post(app.url("/projections/rebuild"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

/// Opens the accounts with a few deposits each, and waits until decided.
async fn some_history(app: &TestApp, token: &str) {
    let mut ids = Vec::new();
    for account in ACCOUNTS {
        ids.push(
            app.accepted(token, "open-account", json!({"accountId": account}))
                .await,
        );
        for amount in 1..=3 {
            let body = json!({"accountId": account, "amount": amount});
            ids.push(app.accepted(token, "deposit", body).await);
        }
    }
    wait_decided(app, token, &ids).await;
}

async fn wait_decided(app: &TestApp, token: &str, ids: &[String]) {
    for id in ids {
        app.eventually(token, &format!("/commands/{id}"), |b| {
            b["status"] != "accepted"
        })
        .await;
    }
}

/// Keeps depositing into the accounts (and reading the live read model,
/// which must answer 200 every time) until stopped; returns the command
/// ids and how many reads it made.
fn keep_writing_and_reading(
    app: &Arc<TestApp>,
    token: &str,
    read_path: &'static str,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<String>, usize)> {
    let (app, token, stop) = (app.clone(), token.to_owned(), stop.clone());
    tokio::spawn(async move {
        let (mut ids, mut reads) = (Vec::new(), 0);
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            let account = ACCOUNTS[n % ACCOUNTS.len()];
            n += 1;
            let body = json!({"accountId": account, "amount": "0.01"});
            ids.push(app.accepted(&token, "deposit", body).await);
            let (status, body) = app.get(&token, read_path).await;
            assert_eq!(status, 200, "the live read model stopped answering: {body}");
            reads += 1;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        (ids, reads)
    })
}

fn projection<'a>(overview: &'a Value, name: &str) -> &'a Value {
    overview["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == name))
        .unwrap_or(&Value::Null)
}

/// Polls `/projections` until `name`'s last rebuild is `id` and it is live.
async fn rebuild_finished(app: &TestApp, token: &str, name: &str, id: &Value) -> Value {
    let overview = app
        .eventually(token, "/projections", |b| {
            let p = projection(b, name);
            p["status"] == "live" && p["lastRebuild"]["id"] == *id
        })
        .await;
    let view = projection(&overview, name).clone();
    assert_eq!(view["lastRebuild"]["outcome"], "completed", "{view}");
    view
}

/// Schemas left in the database whose name starts with `prefix`.
async fn schemas_like(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut conn = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1")
        .bind(format!("{prefix}%"))
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_balances_rebuild_under_concurrent_deposits_equals_the_event_store() {
    let app = Arc::new(spawn_app().await);
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    some_history(&app, &alice).await;

    // A writer transaction "in flight" on the live read model (it holds the
    // switch gate shared, as every projector write does): the rebuild
    // replays, then waits at its switch — observably running.
    let mut writer = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    sqlx::query("SELECT pg_advisory_lock_shared(hashtext('ledgerline:switch:balances'))")
        .execute(&mut writer)
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = keep_writing_and_reading(&app, &alice, "/projections/AccountBalances", &stop);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let Answer {
        status,
        body: started,
        ..
    } = post_rebuild(&app, Some(&ops), r#"{"name":"AccountBalances"}"#).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "rebuilding");
    assert_eq!(started["statusUrl"], "/projections/AccountBalances");
    let id = started["rebuildId"].clone();
    assert!(id.is_string(), "{started}");

    // Progress is visible while it runs, and a second rebuild is refused.
    let overview = app
        .eventually(&alice, "/projections", |b| {
            projection(b, "AccountBalances")["rebuild"]["phase"] == "switching"
        })
        .await;
    let running = projection(&overview, "AccountBalances");
    assert_eq!(running["status"], "rebuilding", "{running}");
    assert_eq!(running["rebuild"]["id"], id, "{running}");
    // (How much it could replay before the switch depends on the store's
    // safe high-water mark, which any long transaction on the server holds
    // back; the switch then takes the rest with writers paused.)
    let replayed = running["rebuild"]["replayed"].as_i64().unwrap();
    if let Some(head) = running["rebuild"]["head"].as_i64() {
        assert!(head >= replayed && head >= 16, "{running}");
    }
    let (_, by_name) = app.get(&alice, "/projections/AccountBalances").await;
    assert_eq!(by_name["status"], "rebuilding", "{by_name}");
    let conflict = post_rebuild(&app, Some(&ops), r#"{"name":"AccountBalances"}"#).await;
    conflict.assert_problem(409, "a second rebuild");
    assert_eq!(
        conflict.problem_type(),
        Some("urn:ledgerline:problem:rebuild-in-progress")
    );

    // The writer commits: the rebuild takes what the live copy applied
    // meanwhile, switches, and the live copy never stopped answering.
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.close().await.unwrap();
    let done = rebuild_finished(&app, &alice, "AccountBalances", &id).await;
    assert!(done["rebuild"].is_null(), "{done}");

    // Writes after the switch land in the rebuilt tables: the old schema is
    // gone, so a connection or statement from before the switch that still
    // pointed at it would fail.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let (during, reads) = traffic.await.unwrap();
    assert!(
        reads > 10 && during.len() > 10,
        "{reads} reads, {} writes",
        during.len()
    );
    wait_decided(&app, &alice, &during).await;
    assert_eq!(schemas_like(&app, "balances").await, ["balances"]);

    // The rebuilt read model equals the event store, account by account —
    // deposits made during the rebuild included.
    for account in ACCOUNTS {
        let (status, truth) = app
            .get(&alice, &format!("/queries/account/{account}"))
            .await;
        assert_eq!(status, 200, "{truth}");
        let balances = app
            .eventually(&alice, "/projections/AccountBalances", |b| {
                b["items"].as_array().is_some_and(|items| {
                    items
                        .iter()
                        .any(|i| i["accountId"] == account && i["version"] == truth["version"])
                })
            })
            .await;
        let row = balances["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["accountId"] == account)
            .unwrap();
        assert_eq!(
            (&row["balance"], &row["version"]),
            (&truth["balance"], &truth["version"]),
            "{account}: {row} vs {truth}"
        );
    }
    // And the projection's own bookkeeping caught up with the store head.
    app.eventually(&alice, "/projections", |b| {
        projection(b, "AccountBalances")["lag"] == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_and_audit_rebuilds_keep_every_event_and_outcome() {
    let app = Arc::new(spawn_app().await);
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    some_history(&app, &alice).await;
    // A rejection: an outcome the audit log holds that the store has no event for.
    let rejected = app
        .accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-r1", "amount": 1000}),
        )
        .await;
    wait_decided(&app, &alice, std::slice::from_ref(&rejected)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = keep_writing_and_reading(
        &app,
        &alice,
        "/projections/TransactionHistory?limit=500",
        &stop,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ids = Vec::new();
    for name in ["TransactionHistory", "AuditLog"] {
        let Answer {
            status,
            body: started,
            ..
        } = post_rebuild(&app, Some(&ops), &json!({ "name": name }).to_string()).await;
        assert_eq!(status, 202, "{started}");
        ids.push((name, started["rebuildId"].clone()));
    }
    for (name, id) in &ids {
        rebuild_finished(&app, &alice, name, id).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let (during, _) = traffic.await.unwrap();
    wait_decided(&app, &alice, &during).await;
    assert_eq!(schemas_like(&app, "history").await, ["history"]);
    assert_eq!(schemas_like(&app, "audit").await, ["audit"]);

    // History: every event of every account, once.
    let mut events_in_store = 0;
    for account in ACCOUNTS {
        let (_, truth) = app
            .get(&alice, &format!("/queries/account/{account}"))
            .await;
        let version = truth["version"].as_i64().unwrap();
        events_in_store += version;
        let path = format!("/projections/TransactionHistory?accountId={account}&limit=500");
        let history = app
            .eventually(&alice, &path, |b| {
                b["items"]
                    .as_array()
                    .is_some_and(|i| i.len() as i64 == version)
            })
            .await;
        let mut versions: Vec<i64> = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["version"].as_i64().unwrap())
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=version).collect::<Vec<_>>(), "{account}");
    }

    // Audit: every event, and every outcome carried over (rejection too).
    let commands = 16 + 1 + during.len();
    let audit = app
        .eventually(&ops, "/audit?limit=1000", |b| {
            b["items"].as_array().is_some_and(|items| {
                let kind = |k: &str| items.iter().filter(|i| i["kind"] == k).count();
                kind("event") as i64 == events_in_store && kind("status") == commands
            })
        })
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "status" && i["payload"]["commandId"] == rejected.as_str()),
        "the rejection's outcome survived the rebuild"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_requests_are_refused_clearly() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;

    let cases: [(Option<&str>, &str, u16); 10] = [
        (None, r#"{"name":"AccountBalances"}"#, 401),
        (Some(&alice), r#"{"name":"AccountBalances"}"#, 403),
        (Some(&ops), r#"{"name":"Nonsense"}"#, 404),
        (Some(&ops), r#"{"name":"accountbalances"}"#, 404),
        (Some(&ops), r#"{"name":"AccountBalances""#, 400),
        (Some(&ops), "", 400),
        (Some(&ops), r#"{}"#, 422),
        (Some(&ops), r#"{"name":7}"#, 422),
        (Some(&ops), r#"["AccountBalances"]"#, 422),
        (Some(&ops), r#"{"name":"AccountBalances","now":true}"#, 422),
    ];
    for (token, body, expect) in cases {
        post_rebuild(&app, token, body)
            .await
            .assert_problem(expect, body);
    }
    let unprocessable = post_rebuild(&app, Some(&ops), r#"{"name":7,"x":1}"#).await;
    assert_eq!(
        unprocessable.fields(),
        ["x", "name"],
        "{}",
        unprocessable.body
    );

    // Not JSON (415) and too large (413), before anything is read.
    let send = |content_type: &'static str, body: String| {
        app.http
            .request(Method::POST, app.url("/projections/rebuild"))
            .bearer_auth(&ops)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = send("text/plain", r#"{"name":"AuditLog"}"#.into())
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let huge = format!(r#"{{"name":"{}"}}"#, "A".repeat(app.config.body_limit + 1));
    let response = send("application/json", huge).await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    // Nothing was started by any of them.
    let (_, overview) = app.get(&alice, "/projections").await;
    for item in overview["items"].as_array().unwrap() {
        assert!(item["lastRebuild"].is_null(), "{item}");
        assert_ne!(item["status"], "rebuilding", "{item}");
    }
}

/// The balance rows of `account` as served at `base`, once they show
/// `version`.
async fn balance_at(
    app: &TestApp,
    base: &str,
    token: &str,
    account: &str,
    version: &Value,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = app
            .http
            .get(format!("{base}/projections/AccountBalances"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{base} stopped serving");
        let body: Value = response.json().await.unwrap();
        let row = body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["accountId"] == account))
            .cloned()
            .unwrap_or(Value::Null);
        if row["version"] == *version {
            return row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base}: {account} never reached version {version}: {row}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two balance-service replicas share the read model and its consumer; one
/// of them rebuilds and replaces its pool, the other keeps its pooled
/// connections and the statements sqlx prepared on them before the switch.
/// Both keep serving and writing — into the rebuilt tables (the old schema
/// is dropped, so anything still bound to it would fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_did_not_rebuild_keeps_serving_and_writing_the_new_tables() {
    use ledgerline::{Application, Target};
    use ledgerline_runtime::Shutdown;

    let app = Arc::new(spawn_app().await);
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    let mut config = app.config.clone();
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let shutdown = Shutdown::new();
    let replica = Application::build(config, &[Target::BalanceService], shutdown.clone())
        .await
        .unwrap();
    let replica_base = format!("http://127.0.0.1:{}", replica.port());
    let server = tokio::spawn(async move { replica.run().await.unwrap() });

    some_history(&app, &alice).await;
    // Both replicas' pools have prepared their statements by now.
    for base in [app.base.as_str(), replica_base.as_str()] {
        for account in ACCOUNTS {
            balance_at(&app, base, &alice, account, &json!(4)).await;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = keep_writing_and_reading(&app, &alice, "/projections/AccountBalances", &stop);
    let Answer {
        status,
        body: started,
        ..
    } = post_rebuild(&app, Some(&ops), r#"{"name":"AccountBalances"}"#).await;
    assert_eq!(status, 202, "{started}");
    rebuild_finished(&app, &alice, "AccountBalances", &started["rebuildId"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (during, _) = traffic.await.unwrap();
    wait_decided(&app, &alice, &during).await;
    assert_eq!(schemas_like(&app, "balances").await, ["balances"]);

    for account in ACCOUNTS {
        let (_, truth) = app
            .get(&alice, &format!("/queries/account/{account}"))
            .await;
        for base in [app.base.as_str(), replica_base.as_str()] {
            let row = balance_at(&app, base, &alice, account, &truth["version"]).await;
            assert_eq!(row["balance"], truth["balance"], "{base} {account}");
        }
    }
    shutdown.cancel();
    let _ = server.await;
}

// Subscriber modes (issue 5, item 8): every read model is written in
// batches, and a new history read model starts from the event store.

/// While the read models' writers are held (their switch gates taken
/// exclusively, as a rebuild's switch does), events pile up in their
/// consumers; released, they are written many per transaction — each once,
/// with the checkpoint counting each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_model_writes_what_piled_up_in_few_transactions() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    let opened = app.open_account(&alice, "acc-b1").await;
    wait_decided(&app, &alice, &[opened]).await;
    app.eventually(&ops, "/audit", |b| {
        b["items"].as_array().is_some_and(|i| i.len() == 2)
    })
    .await;
    app.eventually(
        &alice,
        "/projections/TransactionHistory?accountId=acc-b1",
        |b| b["items"].as_array().is_some_and(|i| i.len() == 1),
    )
    .await;

    let mut hold = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    for schema in ["audit", "balances", "history"] {
        sqlx::query("SELECT pg_advisory_lock(hashtext('ledgerline:switch:' || $1))")
            .bind(schema)
            .execute(&mut hold)
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for _ in 0..30 {
        let body = json!({"accountId": "acc-b1", "amount": 1});
        ids.push(app.accepted(&alice, "deposit", body).await);
    }
    wait_decided(&app, &alice, &ids).await;
    hold.close().await.unwrap();

    app.eventually(&ops, "/audit?limit=1000", |b| {
        b["items"].as_array().is_some_and(|i| i.len() == 62)
    })
    .await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 31
    })
    .await;
    app.eventually(
        &alice,
        "/projections/TransactionHistory?accountId=acc-b1&limit=100",
        |b| b["items"].as_array().is_some_and(|i| i.len() == 31),
    )
    .await;
    let mut conn = sqlx::PgConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    for (read_model, rows) in [
        ("AuditLog", "audit.entries WHERE kind = 'event'"),
        ("TransactionHistory", "history.transactions"),
    ] {
        let (entries, transactions): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT xmin::text) FROM {rows}"
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(entries, 31, "{read_model}");
        assert!(
            transactions <= 10,
            "{read_model}: 31 events took {transactions} transactions"
        );
    }
    let (balance, events, checkpoint, head): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT balance FROM balances.accounts WHERE account_id = 'acc-b1'),
                c.events, c.last_position, (SELECT max(global_position) FROM es.events)
         FROM balances.projection_checkpoint c WHERE c.name = 'AccountBalances'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((balance, events, checkpoint), (3000, 31, head));
}

/// A history service started for the first time, after the stream has
/// lost the old events (retention), still has every event: it starts from
/// the event store, not from the stream's beginning.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_history_read_model_starts_from_the_event_store() {
    use ledgerline::Target;

    // The command side alone first (no history service has ever run), on a
    // database and prefix of this test's own.
    let app = spawn_services(
        &[
            Target::CommandApi,
            Target::CommandProcessor,
            Target::EventStore,
        ],
        |c| c.command_partitions = 2,
    )
    .await;
    let token = app.token("alice").await;
    let mut ids = Vec::new();
    for (kind, body) in [
        ("open-account", json!({"accountId": "acc-h1"})),
        ("deposit", json!({"accountId": "acc-h1", "amount": 5})),
        ("deposit", json!({"accountId": "acc-h1", "amount": 6})),
    ] {
        ids.push(app.accepted(&token, kind, body).await);
    }
    for id in &ids {
        app.eventually(&token, &format!("/commands/{id}"), |status| {
            status["status"] == "succeeded"
        })
        .await;
    }
    // Retention: the stream no longer has these events.
    let bus = app.bus().await;
    let mut stream = bus
        .js
        .get_stream(bus.subjects.events_stream())
        .await
        .unwrap();
    stream.purge().await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 0);

    // Now the history service starts, for the first time.
    let (history, stop_history) = app.spawn_service(Target::HistoryService).await;
    let path = "/projections/TransactionHistory?accountId=acc-h1";
    app.eventually_on(history, Duration::from_secs(15), &token, path, |body| {
        let versions: Vec<i64> = body["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["version"].as_i64()).collect())
            .unwrap_or_default();
        versions == [3, 2, 1]
    })
    .await;
    // And it follows the stream from there.
    app.deposit(&token, "acc-h1", 7).await;
    app.eventually_on(history, Duration::from_secs(10), &token, path, |body| {
        body["items"][0]["version"] == 4
    })
    .await;
    stop_history.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_of_a_log_many_pages_long_applies_every_event_once() {
    // More events than several pages of the store's event log: the replay
    // reads ahead and applies what it has read in few transactions.
    const DEPOSITS: usize = 1_600;
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    for account in ACCOUNTS {
        app.open_account(&alice, account).await;
    }
    let accepted: Vec<String> = futures::stream::iter(0..DEPOSITS)
        .map(|n| {
            let body = json!({"accountId": ACCOUNTS[n % ACCOUNTS.len()], "amount": 1});
            app.accepted(&alice, "deposit", body)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(accepted.len(), DEPOSITS);
    app.eventually(&ops, "/stats", |s| {
        s["eventsByType"]["MoneyDeposited"] == DEPOSITS
    })
    .await;

    let Answer { status, body, .. } =
        post_rebuild(&app, Some(&ops), r#"{"name":"AccountBalances"}"#).await;
    assert_eq!(status, 202, "{body}");
    let done = rebuild_finished(&app, &alice, "AccountBalances", &body["rebuildId"]).await;
    let replayed = done["lastRebuild"]["replayed"].as_u64().unwrap();
    assert!(replayed >= (DEPOSITS + ACCOUNTS.len()) as u64, "{done}");

    let per_account = DEPOSITS / ACCOUNTS.len();
    let balances = app
        .eventually(&alice, "/projections/AccountBalances", |b| {
            b["items"]
                .as_array()
                .is_some_and(|items| items.len() == ACCOUNTS.len())
        })
        .await;
    for row in balances["items"].as_array().unwrap() {
        assert_eq!(
            (&row["balance"], &row["version"]),
            (&json!(format!("{per_account}.00")), &json!(per_account + 1)),
            "{row}"
        );
    }
    app.eventually(&alice, "/projections", |b| {
        projection(b, "AccountBalances")["lag"] == 0
    })
    .await;
}
