//! The Markdown summary of a `make bench` run: machine facts, each
//! scenario's figures, and every target of issue 15 with how far it is.

use serde_json::Value;
use std::fmt::Write;

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn num(v: &Value, digits: usize) -> String {
    f(v).map_or_else(|| "—".into(), |x| format!("{x:.digits$}"))
}

/// "met" or by how much it is missed, for `value` against `target`
/// (`higher`: at least the target; otherwise at most).
#[allow(clippy::float_arithmetic)]
fn verdict(value: Option<f64>, target: f64, higher: bool) -> String {
    let Some(v) = value else {
        return "not measured".into();
    };
    let met = if higher { v >= target } else { v <= target };
    if met {
        "**met**".into()
    } else if higher {
        format!(
            "**missed**: {:.1} % of the target ({:.2}× short)",
            v / target * 100.0,
            target / v.max(f64::MIN_POSITIVE)
        )
    } else {
        format!("**missed**: {:.2}× the limit", v / target)
    }
}

fn latency_rows(out: &mut String, name: &str, l: &Value) {
    if l.is_null() {
        return;
    }
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} |",
        l["count"],
        num(&l["p50Ms"], 2),
        num(&l["p90Ms"], 2),
        num(&l["p99Ms"], 2),
        num(&l["p999Ms"], 2),
        num(&l["maxMs"], 2)
    );
}

#[allow(clippy::float_arithmetic, clippy::too_many_lines)]
pub fn markdown(report: &Value) -> String {
    let mut out = String::new();
    let s = &report["scenarios"];
    let _ = writeln!(
        out,
        "# make bench — {}\n",
        report["date"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        out,
        "Produced by `make bench` (`ledgerctl bench suite`); raw figures in the `.json` beside this file. One run, one machine, everything sharing its cores: compare ratios within this run.\n"
    );
    let _ = writeln!(out, "## Machine\n\n| fact | value |\n|---|---|");
    if let Some(m) = report["machine"].as_object() {
        for (k, v) in m {
            let _ = writeln!(out, "| {k} | {} |", v.as_str().unwrap_or("?"));
        }
    }
    if let Some(m) = report["settings"].as_object() {
        for (k, v) in m {
            let _ = writeln!(
                out,
                "| {k} | {} |",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            );
        }
    }

    let flush = &report["diskFlush"];
    if flush.get("error").is_some() {
        let _ = writeln!(out, "\nDisk flush not measured: {}", flush["error"]);
    } else if !flush.is_null() {
        let _ = writeln!(
            out,
            "\nThe disk under the private PostgreSQL: {} flushes of 8 KiB (`fdatasync`, as a commit flushes the WAL), p50 {} / p99 {} / p99.9 {} / max {} ms. Every commit on a command's path waits for at least one.",
            flush["count"],
            num(&flush["p50Ms"], 2),
            num(&flush["p99Ms"], 2),
            num(&flush["p999Ms"], 2),
            num(&flush["maxMs"], 2)
        );
    }

    // Targets, collected as we go.
    let mut targets: Vec<(String, String, String, String)> = Vec::new();

    let b = &s["b"];
    let baseline = f(&b["messagesPerSec"]);
    let _ = writeln!(
        out,
        "\n## (b) Baseline: JetStream publish → pull consume → batched insert → publish\n"
    );
    if b.get("error").is_some() {
        let _ = writeln!(out, "failed: {}", b["error"]);
    } else if !b.is_null() {
        let _ = writeln!(
            out,
            "| figure | value |\n|---|---:|\n| messages | {} |\n| end to end, messages/s | {} |\n| producer publish rate (256 acks in flight), messages/s | {} |\n| mean batch | {} |",
            b["messages"],
            num(&b["messagesPerSec"], 0),
            num(&b["publishPerSec"], 0),
            num(&b["meanBatch"], 1)
        );
    }

    let a = &s["a"];
    let _ = writeln!(
        out,
        "\n## (a) Pipeline: `ledgerline all`, HTTP → 202 → decided → status on the socket\n"
    );
    if a.get("error").is_some() {
        let _ = writeln!(out, "failed: {}", a["error"]);
    } else if !a.is_null() {
        // The percentile plot and the throughput over time, beside this file.
        for file in a["plots"].as_array().into_iter().flatten() {
            if let Some(file) = file.as_str() {
                let _ = writeln!(out, "![{file}]({file})\n");
            }
        }
        for (title, run) in [
            ("Saturation (closed loop)", &a["saturation"]),
            ("Fixed rate (open loop)", &a["fixedRate"]),
            (
                "The fixed rate with commits not flushed (`synchronous_commit = off`, for comparison only: a crash could lose commands already answered 202)",
                &a["fixedRateUnflushed"],
            ),
        ] {
            if run.is_null() {
                continue;
            }
            if let Some(error) = run.get("error") {
                let _ = writeln!(
                    out,
                    "### {title}

failed: {error}
"
                );
                continue;
            }
            let r = &run["result"];
            let _ = writeln!(
                out,
                "### {title}: {}, {} s, {} users, {} accounts\n",
                if r["mode"] == "open" {
                    format!("{} cmd/s", r["targetRate"])
                } else {
                    format!("{} in flight", r["concurrency"])
                },
                r["durationSecs"],
                r["users"],
                r["accounts"]
            );
            let _ = writeln!(
                out,
                "| figure | value |\n|---|---:|\n| sent / accepted (202) | {} / {} |\n| refused or errors | {} |\n| accepted/s | {} |\n| decided/s (outcomes seen on sockets) | {} |\n| outcomes | {} |\n| exactly one outcome per 202 | {} (missing {}, doubled {}, unknown {}) |\n| time to drain after the load | {} s |\n| ledgerline CPU per command | {} ms |\n| the machine's CPU busy during the run (all processes, both cores) | {} % |\n| the machine's CPU stolen by the hypervisor during the run | {} % |\n| PostgreSQL commits per command | {} |\n| NATS messages per command | {} |\n| NATS slow consumers cut off | {} |\n",
                r["sent"],
                r["accepted"],
                r["refused"],
                num(&r["acceptedPerSec"], 0),
                num(&r["decidedPerSec"], 0),
                r["outcomes"],
                if r["exactlyOneOutcomeEach"] == true {
                    "yes"
                } else {
                    "**NO**"
                },
                r["missingOutcomes"],
                r["doubledOutcomes"],
                r["unknownOutcomes"],
                num(&r["drainSecs"], 1),
                num(&run["ledgerlineCpuMsPerCommand"], 2),
                f(&run["machineCpuBusy"]).map_or("—".into(), |b| format!("{:.0}", b * 100.0)),
                f(&run["machineCpuStolen"]).map_or("—".into(), |b| format!("{:.0}", b * 100.0)),
                num(&run["postgresCommitsPerCommand"], 2),
                num(&run["natsMessagesPerCommand"], 1),
                num(&run["natsSlowConsumers"], 0)
            );
            let _ = writeln!(
                out,
                "| latency | n | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|"
            );
            latency_rows(&mut out, "POST → 202", &r["acceptedLatency"]);
            latency_rows(&mut out, "POST → status envelope", &r["statusLatency"]);
            latency_rows(&mut out, "… POST → decided", &r["decidedLatency"]);
            latency_rows(
                &mut out,
                "… decided → status envelope",
                &r["decidedToStatusLatency"],
            );
            let _ = writeln!(out);
        }
        let rb = &a["rebuild"];
        let read = &a["sequentialRead"];
        let _ = writeln!(
            out,
            "### Rebuild of AccountBalances after the load (`POST /projections/rebuild`)\n\n| read of the {} events the load wrote | events/s |\n|---|---:|\n| plain sequential read (`SELECT * FROM es.events ORDER BY global_position` via psql) | {} |\n| rebuild, until `GET /projections/AccountBalances` reports it completed ({} in {} s) | {} |\n{}",
            read["events"],
            num(&read["eventsPerSec"], 0),
            rb["replayed"],
            num(&rb["secs"], 2),
            num(&rb["eventsPerSec"], 0),
            rb.get("error")
                .map_or_else(String::new, |e| format!("\nrebuild failed: {e}\n"))
        );
        let real = f(&rb["eventsPerSec"])
            .zip(f(&read["eventsPerSec"]))
            .map(|(a, b)| a / b);
        targets.push((
            "rebuild after the load (`POST /projections/rebuild`) ≥ 50 % of the sequential read"
                .into(),
            "≥ 50 %".into(),
            real.map_or("—".into(), |v| format!("{:.1} %", v * 100.0)),
            verdict(real, 0.5, true),
        ));
        let decided = f(&a["saturation"]["result"]["decidedPerSec"]);
        let one_each = a["saturation"]["result"]["exactlyOneOutcomeEach"].as_bool();
        targets.push((
            "≥ 3,000 decided/s at saturation, every 202 with exactly one outcome".into(),
            "≥ 3,000 /s".into(),
            format!(
                "{} /s, exactly one outcome per 202: {}",
                decided.map_or("—".into(), |v| format!("{v:.0}")),
                one_each.map_or("—", |yes| if yes { "yes" } else { "no" })
            ),
            // A run that lost or doubled an outcome misses it, however fast.
            verdict(
                if one_each == Some(false) {
                    Some(0.0)
                } else {
                    decided
                },
                3000.0,
                true,
            ),
        ));
        let ratio = decided.zip(baseline).map(|(d, b)| d / b);
        targets.push((
            "pipeline ≥ 15 % of baseline (decided/s ÷ baseline messages/s)".into(),
            "≥ 15 %".into(),
            ratio.map_or("—".into(), |r| {
                format!(
                    "{:.1} % ({} / {})",
                    r * 100.0,
                    num(&a["saturation"]["result"]["decidedPerSec"], 0),
                    baseline.map_or("—".into(), |b| format!("{b:.0}"))
                )
            }),
            verdict(ratio, 0.15, true),
        ));
        let p99 = f(&a["fixedRate"]["result"]["statusLatency"]["p99Ms"]);
        let achieved = f(&a["fixedRate"]["result"]["decidedPerSec"]);
        targets.push((
            format!(
                "p99 POST → status envelope at {} cmd/s",
                a["fixedRate"]["result"]["targetRate"]
            ),
            "< 25 ms".into(),
            format!(
                "{} ms (decided {} /s of the target rate)",
                p99.map_or("—".into(), |v| format!("{v:.1}")),
                achieved.map_or("—".into(), |v| format!("{v:.0}"))
            ),
            verdict(p99, 25.0, false),
        ));
        let unflushed = f(&a["fixedRateUnflushed"]["result"]["statusLatency"]["p99Ms"]);
        if unflushed.is_some() {
            targets.push((
                "(for comparison) the same with commits not flushed (`synchronous_commit = off`)"
                    .into(),
                "< 25 ms".into(),
                format!("{} ms", unflushed.map_or("—".into(), |v| format!("{v:.1}"))),
                verdict(unflushed, 25.0, false),
            ));
        }
    }

    let c = &s["c"];
    let _ = writeln!(
        out,
        "\n## (c) Decide-and-append: Ledgerline vs cqrs-es 0.5 + postgres-es 0.5\n"
    );
    if c.get("error").is_some() {
        let _ = writeln!(out, "failed: {}", c["error"]);
    } else if !c.is_null() {
        let _ = writeln!(
            out,
            "{} accounts, {} commands ({} events), {} workers each owning a slice of the accounts; same PostgreSQL, same seeded mix, the same `decide`/`apply`. Ledgerline twice: one command per transaction, and in groups of {} (how the processor decides what is waiting on a partition). Ratios are the group run's.\n\n| implementation | commands/s | Ledgerline (groups) ÷ it |\n|---|---:|---:|\n| Ledgerline, groups (`command_processor::decide_group`) | {} | 1.00 |\n| Ledgerline, one at a time (`decide_command`) | {} | {} |",
            c["accounts"],
            c["commands"],
            c["events"],
            c["workers"],
            c["ledgerlineGroups"]["group"],
            num(&c["ledgerlineGroups"]["commandsPerSec"], 0),
            num(&c["ledgerline"]["commandsPerSec"], 0),
            f(&c["ledgerlineGroups"]["commandsPerSec"])
                .zip(f(&c["ledgerline"]["commandsPerSec"]))
                .map_or("—".into(), |(g, o)| format!("{:.2}", g / o)),
        );
        let ours = f(&c["ledgerlineGroups"]["commandsPerSec"]);
        for t in c["cqrsEs"].as_array().into_iter().flatten() {
            let ratio = ours.zip(f(&t["commandsPerSec"])).map(|(o, t)| o / t);
            let _ = writeln!(
                out,
                "| cqrs-es, {} | {} | {} |",
                t["store"].as_str().unwrap_or("?"),
                num(&t["commandsPerSec"], 0),
                ratio.map_or("—".into(), |r| format!("{r:.2}"))
            );
            targets.push((
                format!(
                    "decide-and-append ≥ 10× cqrs-es ({})",
                    t["store"].as_str().unwrap_or("?")
                ),
                "≥ 10.00×".into(),
                ratio.map_or("—".into(), |r| format!("{r:.2}×")),
                verdict(ratio, 10.0, true),
            ));
        }
    }

    let d = &s["d"];
    let _ = writeln!(
        out,
        "\n## (d) Socket fan-out: N connections, one message to all\n"
    );
    if d.get("error").is_some() {
        let _ = writeln!(out, "failed: {}", d["error"]);
    } else if let Some(rows) = d.as_array() {
        let _ = writeln!(
            out,
            "Ledgerline: all N sockets are one user's, the trigger is a deposit posted to the API, so *from trigger* includes the whole pipeline; *spread* is receipt − first receipt of the round (the fan-out alone). The hubs: a client sends one frame, the hub sends it to all. 5 rounds each.\n"
        );
        let _ = writeln!(
            out,
            "| N | server | connected | RSS per connection KiB | from trigger p50 / p99 / max ms | spread p50 / p99 / max ms | delivered / expected |\n|---:|---|---:|---:|---|---|---|"
        );
        for row in rows {
            if let Some(skip) = row["skipped"].as_str() {
                let _ = writeln!(
                    out,
                    "| {} | — | skipped: {skip} | | | | |",
                    row["connections"]
                );
                continue;
            }
            for (key, name) in [
                ("ledgerline", "Ledgerline socket-service"),
                ("bareTungstenite", "bare tokio-tungstenite"),
                ("nodeWs", "Node ws"),
            ] {
                let r = &row[key];
                if let Some(e) = r.get("error") {
                    let _ = writeln!(
                        out,
                        "| {} | {name} | failed: {e} | | | | |",
                        row["connections"]
                    );
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {} | {name} | {} | {} | {} / {} / {} | {} / {} / {} | {} / {} |",
                    row["connections"],
                    r["connected"],
                    num(&r["rssPerConnectionKib"], 1),
                    num(&r["latency"]["p50Ms"], 1),
                    num(&r["latency"]["p99Ms"], 1),
                    num(&r["latency"]["maxMs"], 1),
                    num(&r["spread"]["p50Ms"], 1),
                    num(&r["spread"]["p99Ms"], 1),
                    num(&r["spread"]["maxMs"], 1),
                    r["delivered"],
                    r["expected"]
                );
            }
        }
        if let Some(row) = rows
            .iter()
            .rev()
            .find(|r| r["skipped"].is_null() && r["ledgerline"].get("error").is_none())
        {
            let n = &row["connections"];
            let rss = f(&row["ledgerline"]["rssPerConnectionKib"]);
            targets.push((
                format!("socket RSS per connection (N = {n})"),
                "≤ 8 KiB".into(),
                rss.map_or("—".into(), |v| format!("{v:.1} KiB")),
                verdict(rss, 8.0, false),
            ));
            let ours = f(&row["ledgerline"]["spread"]["p99Ms"]);
            let bare = f(&row["bareTungstenite"]["spread"]["p99Ms"]);
            let node = f(&row["nodeWs"]["spread"]["p99Ms"]);
            let vs_bare = ours.zip(bare).map(|(o, b)| o / b.max(0.001));
            targets.push((
                format!("fan-out p99 (spread) within 2× bare tokio-tungstenite (N = {n})"),
                "≤ 2.00×".into(),
                vs_bare.map_or("—".into(), |r| {
                    format!(
                        "{r:.2}× ({} vs {} ms)",
                        num(&row["ledgerline"]["spread"]["p99Ms"], 1),
                        num(&row["bareTungstenite"]["spread"]["p99Ms"], 1)
                    )
                }),
                verdict(vs_bare, 2.0, false),
            ));
            let vs_node = ours.zip(node).map(|(o, n)| o / n.max(0.001));
            targets.push((
                format!("fan-out p99 (spread) below the Node ws hub (N = {n})"),
                "< 1.00×".into(),
                vs_node.map_or("—".into(), |r| {
                    format!(
                        "{r:.2}× ({} vs {} ms)",
                        num(&row["ledgerline"]["spread"]["p99Ms"], 1),
                        num(&row["nodeWs"]["spread"]["p99Ms"], 1)
                    )
                }),
                verdict(vs_node, 1.0, false),
            ));
        }
    }

    let ef = &s["ef"];
    let _ = writeln!(
        out,
        "\n## (e) Loading an account of 100,000 events · (f) projection rebuild\n"
    );
    if ef.get("error").is_some() {
        let _ = writeln!(out, "failed: {}", ef["error"]);
    } else if !ef.is_null() {
        let l = &ef["load"];
        let _ = writeln!(
            out,
            "`PostgresEventStore::load` (latest snapshot, taken at version {}, + the events after it) vs `load_without_snapshot` (all {} events).\n\n| load | median ms | p99 / max ms | runs |\n|---|---:|---:|---:|\n| with snapshot | {} | {} / {} | {} |\n| without snapshot | {} | min {} / max {} | {} |\n",
            l["snapshotAtVersion"],
            l["events"],
            num(&l["withSnapshotMs"]["median"], 3),
            num(&l["withSnapshotMs"]["p99"], 3),
            num(&l["withSnapshotMs"]["max"], 3),
            l["withSnapshotMs"]["runs"],
            num(&l["withoutSnapshotMs"]["median"], 1),
            num(&l["withoutSnapshotMs"]["min"], 1),
            num(&l["withoutSnapshotMs"]["max"], 1),
            l["withoutSnapshotMs"]["runs"]
        );
        let with = f(&l["withSnapshotMs"]["median"]);
        targets.push((
            "100,000-event account load with snapshots (median)".into(),
            "< 5 ms".into(),
            with.map_or("—".into(), |v| format!("{v:.3} ms")),
            verdict(with, 5.0, false),
        ));
        let r = &ef["rebuild"];
        let rb = &s["rebuild"];
        let status = rb
            .get("error")
            .map_or_else(|| "completed".to_owned(), |e| format!("failed: {e}"));
        let _ = writeln!(
            out,
            "The same events table ({} events, {} accounts) read four ways. **Rebuild** is the real one: `POST /projections/rebuild {{\"name\": \"AccountBalances\"}}` on `ledgerline all` over this database, timed until `GET /projections/AccountBalances` reports it ended ({status}). The *apply replay* rows call the balance projector's own `apply` directly, without NATS: pages of {} events in one transaction each, and one transaction per event.\n\n| read | events/s |\n|---|---:|\n| plain sequential `SELECT` of the events table (pages of {}) | {} |\n| `EventStore::stream` (decoded envelopes) | {} |\n| **rebuild** (`POST /projections/rebuild`: {} events in {} s) | {} |\n| apply replay, a transaction per page | {} |\n| apply replay, a transaction per event ({} events) | {} |\n",
            r["events"],
            r["accounts"],
            r["page"],
            r["page"],
            num(&r["plainReadPerSec"], 0),
            num(&r["storeStreamPerSec"], 0),
            rb["replayed"],
            num(&rb["secs"], 1),
            num(&rb["eventsPerSec"], 0),
            num(&r["rebuildPerSec"], 0),
            r["oneTransactionPerEventSample"],
            num(&r["oneTransactionPerEventPerSec"], 0)
        );
        let plain = f(&r["plainReadPerSec"]);
        let real = f(&rb["eventsPerSec"]).zip(plain).map(|(a, b)| a / b);
        targets.push((
            "rebuild (`POST /projections/rebuild`) ≥ 50 % of the sequential read rate".into(),
            "≥ 50 %".into(),
            real.map_or("—".into(), |v| format!("{:.1} %", v * 100.0)),
            verdict(real, 0.5, true),
        ));
        let ratio = f(&r["rebuildToPlainRead"]);
        targets.push((
            "(for comparison) apply replay, a transaction per page, ÷ sequential read".into(),
            "≥ 50 %".into(),
            ratio.map_or("—".into(), |v| format!("{:.1} %", v * 100.0)),
            verdict(ratio, 0.5, true),
        ));
    }

    let _ = writeln!(
        out,
        "\n## Targets (issue 15)\n\n| target | wanted | measured | verdict |\n|---|---|---|---|"
    );
    for (name, wanted, measured, verdict) in &targets {
        let _ = writeln!(out, "| {name} | {wanted} | {measured} | {verdict} |");
    }
    out
}
