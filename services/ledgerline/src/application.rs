use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CACHE_CONTROL;
use axum::http::{Method, StatusCode};
use axum::middleware::map_response;
use axum::response::IntoResponse;
use std::sync::Arc;

use ledgerline_bus::{Bus, Peers, RemoteAcceptance, RemoteStore};
use ledgerline_projection::{EventFeed, LocalReadModels, Sources};
use ledgerline_runtime::{
    ApiProblem, Config, HttpTimeouts, Readiness, ServiceHandle, Shutdown, ensure_database,
    health_routes,
};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::Target;
use crate::security_headers::{STATIC_CACHING, security_headers};
use crate::token_keys::token_keys;

/// How long in-flight work (HTTP requests, then consumers) may take to
/// finish after SIGTERM.
const DRAIN_BOUND: Duration = Duration::from_secs(10);

/// How long the last acks may take to reach NATS at shutdown.
const FLUSH_BOUND: Duration = Duration::from_secs(2);

/// The started services behind one bound listener.
pub struct Application {
    listener: TcpListener,
    router: Router,
    timeouts: HttpTimeouts,
    handles: Vec<ServiceHandle>,
    shutdown: Shutdown,
    bus: Bus,
}

impl Application {
    /// Connects to NATS and PostgreSQL, declares streams, runs migrations,
    /// starts the chosen services and binds the listener (port 0 works).
    pub async fn build(
        config: Config,
        targets: &[Target],
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let keys = token_keys(&config)?;
        // Count from the start, not from the first scrape.
        ledgerline_telemetry::prometheus();
        let services = Target::services(targets);
        let needs_db = services.iter().any(|s| *s != Target::SocketService);
        if needs_db {
            ensure_database(&config.database_url)
                .await
                .context("preparing the database")?;
        }
        let bus = Bus::connect(
            &config.nats_url,
            &config.nats_prefix,
            config.command_partitions,
        )
        .await
        .context("connecting to NATS")?;
        bus.ensure_streams(config.stream_replicas)
            .await
            .context("declaring JetStream streams")?;
        // The boundaries first: a component this process runs is called in
        // process, one it does not is asked over NATS (see `Peers`).
        let store = match services.contains(&Target::EventStore) {
            true => Some(
                event_store::open(&config)
                    .await
                    .context("opening the event store")?,
            ),
            false => None,
        };
        let accept = match services.contains(&Target::CommandApi) {
            true => Some(
                command_api::open(&config, &bus)
                    .await
                    .context("opening the command API")?,
            ),
            false => None,
        };
        let peers = Peers {
            store: match &store {
                Some(store) => Arc::new(store.clone()),
                None => Arc::new(RemoteStore::new(bus.clone())),
            },
            acceptance: match &accept {
                Some(accept) => Arc::new(accept.clone()),
                None => Arc::new(RemoteAcceptance::new(bus.clone())),
            },
        };
        // The read models of this process, asked in process by the admin
        // routes, and the one event feed they share.
        let read_models = services.iter().filter(|s| s.is_read_model()).count();
        let sources = Sources {
            bus: bus.clone(),
            store: peers.store.clone(),
            read_models: LocalReadModels::default(),
            feed: EventFeed::expecting(read_models),
        };
        let mut handles = Vec::new();
        for service in services {
            let handle = match service {
                Target::CommandApi => match accept.clone() {
                    Some(accept) => {
                        command_api::start(&config, &bus, &keys, &shutdown, accept, &peers).await
                    }
                    None => continue,
                },
                Target::EventStore => match store.clone() {
                    Some(store) => event_store::start(&bus, store, &keys, &shutdown).await,
                    None => continue,
                },
                Target::CommandProcessor => {
                    command_processor::start(&config, &bus, &keys, &shutdown).await
                }
                Target::BalanceService => {
                    balance_service::start(&config, &keys, &shutdown, &sources).await
                }
                Target::HistoryService => {
                    history_service::start(&config, &keys, &shutdown, &sources).await
                }
                Target::AuditService => {
                    audit_service::start(&config, &keys, &shutdown, &sources).await
                }
                Target::SocketService => {
                    socket_service::start(&config, &bus, &keys, &shutdown, &peers).await
                }
                Target::All | Target::CleanupStreams => continue,
            }
            .with_context(|| format!("starting {service:?}"))?;
            tracing::info!(service = handle.name, "started");
            handles.push(handle);
        }
        let router = compose(&handles, &config.web_dir);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;
        Ok(Self {
            listener,
            router,
            timeouts: config.http_timeouts(),
            handles,
            shutdown,
            bus,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until shutdown, then lets HTTP requests and consumers finish
    /// what is in flight (each bounded), and returns.
    pub async fn run(self) -> anyhow::Result<()> {
        crate::server::serve(
            self.listener,
            self.router,
            self.timeouts,
            self.shutdown.clone(),
            DRAIN_BOUND,
        )
        .await;
        let tasks = self.handles.into_iter().flat_map(|h| h.tasks);
        if tokio::time::timeout(DRAIN_BOUND, futures_join(tasks))
            .await
            .is_err()
        {
            tracing::warn!(
                "some work did not finish within {DRAIN_BOUND:?}; it will be redelivered"
            );
        }
        // What the consumers acked on the way out reaches NATS before the
        // process ends: an ack left in the client's buffer would bring its
        // message back an AckWait later (and hold a processor partition's
        // next owner that long).
        if !matches!(
            tokio::time::timeout(FLUSH_BOUND, self.bus.client.flush()).await,
            Ok(Ok(()))
        ) {
            tracing::warn!(
                "could not flush the last acks to NATS; their messages will be redelivered"
            );
        }
        Ok(())
    }
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// Every service's routes on one router, `/healthz` and `/readyz` over all
/// of them, the browser app at `/`, and a problem document for anything else.
fn not_found() -> ApiProblem {
    ApiProblem::new(StatusCode::NOT_FOUND, "not-found", "No such route")
}

fn compose(handles: &[ServiceHandle], web_dir: &str) -> Router {
    let readiness = handles.iter().fold(Readiness::default(), |r, h| {
        r.merge(h.name, h.readiness.clone())
    });
    let mut router = handles.iter().fold(health_routes(readiness), |router, h| {
        router.merge(h.router.clone())
    });
    // One span per request, continuing the caller's trace when it sent a
    // `traceparent`; commands published inside it carry the trace on.
    router = router.layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let span = tracing::info_span!("http.request", method = %request.method(), path = %request.uri().path());
        let traceparent = request.headers().get("traceparent").and_then(|v| v.to_str().ok());
        ledgerline_telemetry::continue_from(&span, None, traceparent);
        span
    }));
    if Path::new(web_dir).join("index.html").exists() {
        let web = ServeDir::new(web_dir);
        // Static files answer GET and HEAD; anything else unrouted is a 404
        // problem document, never an HTML page or an empty 405.
        router = router.fallback(move |request: Request| async move {
            let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
            match is_read {
                true => match web.oneshot(request).await {
                    Ok(mut response) if response.status() != StatusCode::NOT_FOUND => {
                        response.headers_mut().insert(CACHE_CONTROL, STATIC_CACHING);
                        response.map(Body::new)
                    }
                    _ => not_found().into_response(),
                },
                false => not_found().into_response(),
            }
        });
    } else {
        router = router.fallback(|| async { not_found() });
    }
    router
        .method_not_allowed_fallback(|| async {
            ApiProblem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "This route does not take that method",
            )
        })
        // Last, so it covers every answer: routes, fallbacks, 404s.
        .layer(map_response(security_headers))
}
