//! After the storm: every command exactly one outcome, money right, every
//! read model equal to the event store.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::load::{Record, account_name};

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

pub fn check(name: &str, passed: bool, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        passed,
        detail,
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Figures {
    pub commands_accepted: usize,
    pub succeeded: usize,
    pub rejected: usize,
    pub failed: usize,
    pub refused_4xx: usize,
    pub gave_up: u32,
    pub http_posts: u64,
    pub http_retries: u64,
    pub sockets: usize,
    pub socket_reconnects: u32,
    pub envelopes_expected: usize,
    pub envelopes_lost: usize,
    pub envelopes_doubled: usize,
    /// Accepted commands the broker lost (the purge); reconciled, they must
    /// still end with exactly one outcome each.
    pub lost_by_broker: u64,
    pub events_in_store: usize,
    pub accounts: usize,
    pub accounts_money_right: usize,
}

/// The outcome of each accepted command, as its user's sockets saw it.
fn outcomes(record: &Record) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for socket in &record.sockets {
        for (id, frames) in &socket.statuses {
            if let Some(status) = frames.first().and_then(|f| f["status"].as_str()) {
                out.insert(id.clone(), status.to_owned());
            }
        }
    }
    out
}

/// The error code of each decided command, when it has one.
fn outcome_codes(record: &Record) -> HashMap<String, Option<String>> {
    let mut out = HashMap::new();
    for socket in &record.sockets {
        for (id, frames) in &socket.statuses {
            if let Some(frame) = frames.first() {
                out.insert(
                    id.clone(),
                    frame["error"]["code"].as_str().map(str::to_owned),
                );
            }
        }
    }
    out
}

/// What the store must hold if every outcome the sockets reported is true:
/// each account's balance and version, and the number of events.
fn expected_ledger(record: &Record) -> (HashMap<String, (i64, i64)>, usize) {
    let outcomes = outcomes(record);
    let codes = outcome_codes(record);
    let mut ledger: HashMap<String, (i64, i64)> = HashMap::new();
    let mut events = 0;
    let mut add = |account: &str, money: i64, versions: i64| {
        let entry = ledger.entry(account.to_owned()).or_default();
        entry.0 += money;
        entry.1 += versions;
    };
    for (id, a) in &record.accepted {
        let status = outcomes.get(id).map(String::as_str);
        match (a.kind, status, &a.to) {
            ("transfer", Some("succeeded"), Some(to)) => {
                // Debit and completion on the source, credit on the target.
                add(&a.account, -a.minor, 2);
                add(to, a.minor, 1);
                events += 3;
            }
            // Refused at the credit: debited and refunded (refused at the debit
            // for want of funds, nothing happened).
            ("transfer", Some("rejected"), Some(_))
                if codes.get(id).cloned().flatten().as_deref() != Some("INSUFFICIENT_FUNDS") =>
            {
                add(&a.account, 0, 2);
                events += 2;
            }
            ("deposit" | "open-account", Some("succeeded"), _) => {
                add(&a.account, a.minor, 1);
                events += 1;
            }
            ("withdraw", Some("succeeded"), _) => {
                add(&a.account, -a.minor, 1);
                events += 1;
            }
            _ => {}
        }
    }
    (ledger, events)
}

/// Commands whose outcome has not reached every socket of their user yet.
pub fn undelivered(record: &Record) -> usize {
    record
        .accepted
        .iter()
        .map(|(id, a)| {
            record
                .sockets
                .iter()
                .filter(|s| s.user == a.user && !s.statuses.contains_key(id))
                .count()
        })
        .sum()
}

pub fn envelopes(record: &Record, figures: &mut Figures) -> Check {
    for socket in &record.sockets {
        for (id, accepted) in &record.accepted {
            if accepted.user != socket.user {
                continue;
            }
            figures.envelopes_expected += 1;
            match socket.statuses.get(id).map_or(0, Vec::len) {
                0 => figures.envelopes_lost += 1,
                1 => {}
                _ => figures.envelopes_doubled += 1,
            }
        }
        let foreign = socket
            .statuses
            .keys()
            .filter(|id| {
                record
                    .accepted
                    .get(*id)
                    .is_some_and(|a| a.user != socket.user)
            })
            .count();
        figures.envelopes_lost += foreign; // counted against us: a leak is worse than a loss
    }
    let ok = figures.envelopes_lost == 0 && figures.envelopes_doubled == 0;
    check(
        "every socket saw every outcome of its user exactly once (after resume)",
        ok,
        format!(
            "expected {}, lost {}, doubled {}",
            figures.envelopes_expected, figures.envelopes_lost, figures.envelopes_doubled
        ),
    )
}

pub fn one_outcome_each(record: &Record, figures: &mut Figures) -> Check {
    let outcomes = outcomes(record);
    figures.commands_accepted = record.accepted.len();
    for status in outcomes.values() {
        match status.as_str() {
            "succeeded" => figures.succeeded += 1,
            "rejected" => figures.rejected += 1,
            _ => figures.failed += 1,
        }
    }
    let decided = record
        .accepted
        .keys()
        .filter(|id| outcomes.contains_key(*id))
        .count();
    check(
        "every accepted command has exactly one final status",
        decided == record.accepted.len() && figures.envelopes_doubled == 0,
        format!(
            "{decided} of {} decided: {} succeeded, {} rejected, {} failed",
            record.accepted.len(),
            figures.succeeded,
            figures.rejected,
            figures.failed
        ),
    )
}

pub struct Reader {
    pub http: reqwest::Client,
    /// The event-store component (accounts, the event log).
    pub store: String,
    pub balances: String,
    pub history: String,
    pub audit: String,
    pub operator: String,
    pub tokens: Vec<String>,
}

impl Reader {
    async fn get(&self, url: String, token: &str) -> anyhow::Result<Value> {
        let response = self.http.get(&url).bearer_auth(token).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    pub async fn all_events(&self) -> anyhow::Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .get(
                    format!("{}/events/stream?after={after}&limit=1000", self.store),
                    &self.operator,
                )
                .await?;
            let items = page.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return Ok(events);
            }
            after = items
                .last()
                .and_then(|e| e["globalPosition"].as_i64())
                .unwrap_or(after);
            events.extend(items);
        }
    }

    async fn audit_entries(&self) -> anyhow::Result<usize> {
        let mut count = 0;
        let mut before = String::new();
        loop {
            let page = self
                .get(
                    format!("{}/audit?limit=1000{before}", self.audit),
                    &self.operator,
                )
                .await?;
            let items = page["items"].as_array().map_or(0, Vec::len);
            if items == 0 {
                return Ok(count);
            }
            count += items;
            before = format!("&before={}", page["nextBefore"]);
        }
    }

    /// Polls until the balance and history read models agree with the store
    /// (or a minute passes).
    pub async fn converge(&self, users: usize, accounts: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            let mut agree = true;
            for user in 0..users {
                let Ok(model) = self
                    .get(
                        format!("{}/projections/AccountBalances", self.balances),
                        &self.tokens[user],
                    )
                    .await
                else {
                    agree = false;
                    break;
                };
                for account in 0..accounts {
                    let id = account_name(user, account);
                    let store = self
                        .get(
                            format!("{}/queries/account/{id}", self.store),
                            &self.tokens[user],
                        )
                        .await;
                    let row = model["items"]
                        .as_array()
                        .and_then(|i| i.iter().find(|r| r["accountId"] == id.as_str()).cloned());
                    let Ok(store) = store else {
                        agree = false;
                        continue;
                    };
                    agree &= matches!(row, Some(r) if store["version"] == r["version"]);
                    // The history read model too: its newest row is the
                    // account's version.
                    let history = self
                        .get(
                            format!(
                                "{}/projections/TransactionHistory?accountId={id}&limit=1",
                                self.history
                            ),
                            &self.tokens[user],
                        )
                        .await;
                    agree &=
                        matches!(history, Ok(h) if h["items"][0]["version"] == store["version"]);
                }
            }
            if agree {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn read_models(
        &self,
        record: &Record,
        users: usize,
        accounts: usize,
        figures: &mut Figures,
    ) -> anyhow::Result<Vec<Check>> {
        let outcomes = outcomes(record);
        let (ledger, expected_events) = expected_ledger(record);
        let events = self.all_events().await?;
        figures.events_in_store = events.len();
        let mut checks = vec![check(
            "events in the store = what the outcomes imply (1 per command, 3 per transfer)",
            events.len() == expected_events,
            format!(
                "{} events, {} expected from {} succeeded commands",
                events.len(),
                expected_events,
                figures.succeeded
            ),
        )];
        let (mut money_wrong, mut model_wrong, mut history_wrong) =
            (Vec::new(), Vec::new(), Vec::new());
        for user in 0..users {
            let token = &self.tokens[user];
            let balances = self
                .get(
                    format!("{}/projections/AccountBalances", self.balances),
                    token,
                )
                .await?;
            for account in 0..accounts {
                let id = account_name(user, account);
                figures.accounts += 1;
                // Money: initial 100.00 ± every succeeded deposit, withdrawal and transfer.
                let (expected, succeeded) = ledger.get(&id).copied().unwrap_or_default();
                let store = self
                    .get(format!("{}/queries/account/{id}", self.store), token)
                    .await?;
                if store["balance"].as_str() == Some(ledgerline_domain::major(expected).as_str())
                    && store["version"].as_i64() == Some(succeeded)
                {
                    figures.accounts_money_right += 1;
                } else {
                    money_wrong.push(format!(
                        "{id}: store {} v{}, expected {} v{succeeded}",
                        store["balance"],
                        store["version"],
                        ledgerline_domain::major(expected)
                    ));
                }
                let row = balances["items"]
                    .as_array()
                    .and_then(|i| i.iter().find(|r| r["accountId"] == id.as_str()).cloned());
                if !matches!(&row, Some(r) if r["balance"] == store["balance"] && r["version"] == store["version"])
                {
                    model_wrong.push(format!("{id}: balances {row:?} vs store {store}"));
                }
                let history = self
                    .get(
                        format!(
                            "{}/projections/TransactionHistory?accountId={id}&limit={HISTORY_PAGE}",
                            self.history
                        ),
                        token,
                    )
                    .await?;
                // One row per event, newest first; the route answers at
                // most 500, so a longer history is checked by its newest
                // page: 500 rows, the first of them the latest version.
                let items = history["items"].as_array().cloned().unwrap_or_default();
                let rows = items.len() as i64;
                let version = store["version"].as_i64().unwrap_or(-1);
                let newest = items.first().and_then(|r| r["version"].as_i64());
                if rows != version.min(HISTORY_PAGE) || (rows > 0 && newest != Some(version)) {
                    history_wrong.push(format!(
                        "{id}: {rows} history rows (newest v{newest:?}), version {version}"
                    ));
                }
            }
        }
        checks.push(check(
            "money: every balance = initial ± succeeded deposits, withdrawals and transfers",
            money_wrong.is_empty(),
            summary(&money_wrong, figures.accounts),
        ));
        checks.push(check(
            "AccountBalances = the event store",
            model_wrong.is_empty(),
            summary(&model_wrong, figures.accounts),
        ));
        checks.push(check(
            "TransactionHistory = the event store",
            history_wrong.is_empty(),
            summary(&history_wrong, figures.accounts),
        ));
        // The audit log is a read model too: a replica killed with entries
        // in hand gets them redelivered after AckWait. Give it a minute.
        let expected_audit = events.len() + outcomes.len();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut audit = self.audit_entries().await?;
        while audit != expected_audit && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            audit = self.audit_entries().await?;
        }
        checks.push(check(
            "audit log = events + outcomes",
            audit == expected_audit,
            format!("{audit} entries, expected {expected_audit}"),
        ));
        Ok(checks)
    }
}

/// The most rows `GET /projections/TransactionHistory` answers.
const HISTORY_PAGE: i64 = 500;

fn summary(wrong: &[String], total: usize) -> String {
    if wrong.is_empty() {
        format!("{total} accounts agree")
    } else {
        format!("{} of {total} disagree: {}", wrong.len(), wrong.join("; "))
    }
}
