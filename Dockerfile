# syntax=docker/dockerfile:1
#
# One image for every Ledgerline service:
#   docker build -t ledgerline:dev .
#   docker run ledgerline:dev command-api          # or any set of services, or `all`
#
# Stages: chef (toolchain + cargo-chef) → planner (dependency recipe) →
# cacher (dependencies only, cached while Cargo.toml/Cargo.lock are unchanged)
# → builder (the workspace) ; web (the browser app) ; runtime (slim, non-root).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20
ARG CARGO_CHEF_VERSION=0.1.78

# --- Rust toolchain with cargo-chef ------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# --- planner: a recipe of the dependency graph only --------------------------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- cacher: build only the dependencies (the slow, rarely-changing part) ----
FROM chef AS cacher
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json \
      --package ledgerline --package ledgerctl

# --- builder: the workspace itself, on top of the cached dependencies --------
FROM chef AS builder
COPY . .
COPY --from=cacher /src/target target
COPY --from=cacher /usr/local/cargo/registry /usr/local/cargo/registry
RUN cargo build --release --locked --package ledgerline --package ledgerctl \
 && install -D -m 0755 target/release/ledgerline /out/ledgerline \
 && install -D -m 0755 target/release/ledgerctl /out/ledgerctl

# --- web: the browser app (TypeScript → static files in dist/) --------------
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /web
COPY services/web/package.json services/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY services/web/ ./
RUN npm run build

# --- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to a managed NATS/PostgreSQL/OTLP endpoint (rustls reads
# the system roots). Nothing else: the health check below is plain bash.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ledgerline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin ledgerline

COPY --from=builder /out/ledgerline /out/ledgerctl /usr/local/bin/
COPY --from=web /web/dist /app/web
COPY --chmod=0755 deploy/docker/healthcheck deploy/docker/wait-for-deps /usr/local/bin/

# Containers must listen on every interface (the binary defaults to loopback).
# Each service creates its own PostgreSQL schema and runs its own migrations at
# start, so there is no separate migration step or subcommand.
ENV HTTP_ADDR=0.0.0.0:8080 \
    WEB_DIR=/app/web \
    LOG_FORMAT=json \
    RUST_LOG=info

WORKDIR /app
USER 10001:10001
EXPOSE 8080

# Ready = NATS and PostgreSQL reachable (GET /readyz → 200). Compose and
# Kubernetes set their own probes; this serves a plain `docker run`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/healthcheck", "/readyz"]

# SIGTERM: stop accepting, finish in-flight messages (bounded at 10 s), exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ledgerline"]
CMD ["all"]
