//! The baseline of `make bench` (b): the least a pipe over the same NATS and
//! PostgreSQL can do per message. A producer publishes `count` command-sized
//! messages to JetStream with `inflight` acks outstanding; a pull consumer
//! takes them in batches, inserts each batch into PostgreSQL with one
//! `INSERT … SELECT FROM unnest(…)` in one transaction, publishes one result
//! per message (acks pipelined, all awaited), then acks the batch.
//! Prints one JSON object: messages per second end to end.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::AckPolicy, consumer::pull, stream};
use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Messages per consumer fetch (and per PostgreSQL transaction).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Publish acks outstanding at once.
    #[arg(long, default_value_t = 256)]
    inflight: usize,
}

const IN: &str = "BASELINE_IN";
const OUT: &str = "BASELINE_OUT";

#[tokio::main]
#[allow(clippy::float_arithmetic)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = async_nats::connect(&args.nats_url).await.context("NATS")?;
    let js = jetstream::new(client);
    for (name, subject) in [(IN, "baseline.in.>"), (OUT, "baseline.out.>")] {
        let _ = js.delete_stream(name).await;
        js.create_stream(stream::Config {
            name: name.to_owned(),
            subjects: vec![subject.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("stream {name}: {e}"))?;
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .context("PostgreSQL")?;
    sqlx::query("DROP TABLE IF EXISTS baseline_rows")
        .execute(&pool)
        .await?;
    sqlx::query(
        "CREATE TABLE baseline_rows (position BIGSERIAL PRIMARY KEY, msg_id UUID NOT NULL UNIQUE, account TEXT NOT NULL, data JSONB NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let stream = js
        .get_stream(IN)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("baseline".to_owned()),
            ack_policy: AckPolicy::Explicit,
            max_ack_pending: 100_000,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("consumer: {e}"))?;

    let started = Instant::now();
    let producer = {
        let (js, count, inflight) = (js.clone(), args.count, args.inflight);
        tokio::spawn(async move { produce(js, count, inflight).await })
    };
    let mut done = 0usize;
    let mut batches = 0usize;
    while done < args.count {
        let mut messages = consumer
            .fetch()
            .max_messages(args.batch)
            .expires(Duration::from_millis(100))
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("fetch: {e}"))?;
        let mut batch = Vec::with_capacity(args.batch);
        while let Some(m) = messages.next().await {
            batch.push(m.map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        if batch.is_empty() {
            continue;
        }
        let mut ids = Vec::with_capacity(batch.len());
        let mut accounts = Vec::with_capacity(batch.len());
        let mut data = Vec::with_capacity(batch.len());
        for m in &batch {
            let body: serde_json::Value = serde_json::from_slice(&m.payload)?;
            ids.push(uuid::Uuid::parse_str(
                body["commandId"].as_str().unwrap_or_default(),
            )?);
            accounts.push(body["accountId"].as_str().unwrap_or_default().to_owned());
            data.push(body);
        }
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO baseline_rows (msg_id, account, data) SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])",
        )
        .bind(&ids)
        .bind(&accounts)
        .bind(&data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut acks = FuturesUnordered::new();
        for (id, body) in ids.iter().zip(&data) {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", id.to_string().as_str());
            let payload = Bytes::from(serde_json::to_vec(
                &json!({"commandId": id, "status": "succeeded", "events": [body]}),
            )?);
            let account = body["accountId"].as_str().unwrap_or("x");
            acks.push(
                js.publish_with_headers(format!("baseline.out.{account}"), headers, payload)
                    .await
                    .map_err(|e| anyhow::anyhow!("publish: {e}"))?
                    .into_future(),
            );
        }
        while let Some(ack) = acks.next().await {
            ack.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
        }
        for m in &batch {
            m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        }
        done += batch.len();
        batches += 1;
    }
    let took = started.elapsed();
    let published = producer.await??;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM baseline_rows")
        .fetch_one(&pool)
        .await?;
    anyhow::ensure!(
        rows == args.count as i64,
        "{rows} rows for {} messages",
        args.count
    );
    println!(
        "{}",
        json!({
            "messages": args.count,
            "batches": batches,
            "meanBatch": args.count as f64 / batches.max(1) as f64,
            "secs": took.as_secs_f64(),
            "messagesPerSec": args.count as f64 / took.as_secs_f64(),
            "publishPerSec": args.count as f64 / published.as_secs_f64(),
        })
    );
    for name in [IN, OUT] {
        let _ = js.delete_stream(name).await;
    }
    Ok(())
}

/// Publishes `count` command-sized messages with `inflight` acks outstanding.
async fn produce(
    js: jetstream::Context,
    count: usize,
    inflight: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for i in 0..count {
        let id = uuid::Uuid::now_v7();
        let account = format!("acc-{}", i % 400);
        let body = json!({
            "commandId": id, "correlationId": id, "userId": format!("user{}", i % 200),
            "acceptedAt": "2026-11-22T10:00:00Z",
            "command": {"type": "deposit", "accountId": account, "amount": 1234},
        });
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.to_string().as_str());
        let ack = js
            .publish_with_headers(
                format!("baseline.in.{}.{account}", i % 8),
                headers,
                Bytes::from(serde_json::to_vec(&body)?),
            )
            .await
            .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
        acks.push(ack.into_future());
        if acks.len() >= inflight
            && let Some(ack) = acks.next().await
        {
            ack.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
        }
    }
    while let Some(ack) = acks.next().await {
        ack.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
    }
    Ok(started.elapsed())
}
