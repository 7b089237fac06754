#!/usr/bin/env python3
"""`make test-api-fuzz`: proto/openapi.json checked from the outside.

Starts a private `ledgerline all` (a free port, its own database and NATS
prefix, demo sign-in on), signs in through `POST /auth/demo-login`, and runs
schemathesis with every check over every documented route, twice:

  * as a user: the caller most routes are written for, refused (403) by the
    operator-only ones (/stats, POST /projections/rebuild);
  * as an operator: the only caller those two routes answer, and the one that
    reads every account's events and the whole audit log.

A fixed seed and a bounded number of examples keep the run reproducible and
short. Any failure fails the target. The instance is stopped and its
database and streams are removed, whatever happens.

Environment: LEDGERLINE_BIN (else $CARGO_TARGET_DIR/debug/ledgerline),
API_FUZZ_EXAMPLES (examples per operation and phase, default 30),
API_FUZZ_SEED (default 13), LEDGERLINE_TEST_PG (PostgreSQL base URL).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "proto" / "openapi.json"
WORK_DIR = ROOT / "target" / "api-fuzz"
EXAMPLES = os.environ.get("API_FUZZ_EXAMPLES", "30")
SEED = os.environ.get("API_FUZZ_SEED", "13")
READY_TIMEOUT_SECS = 90


def ledgerline_bin() -> str:
    if os.environ.get("LEDGERLINE_BIN"):
        return os.environ["LEDGERLINE_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(Path(target) / "debug" / "ledgerline")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_ready(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"ledgerline exited early ({server.returncode})")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening (or not ready) yet
        time.sleep(0.25)
    raise RuntimeError(f"ledgerline not ready at {base_url}/readyz in time")


def schemathesis(base_url: str, token: str, caller: str) -> int:
    """One schemathesis run; its exit status (0 when nothing failed)."""
    command = [
        "schemathesis", "run", str(DOCUMENT),
        "--url", base_url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        # Not the stateful phase: it chains the `commandId` of one command's
        # 202 into the body of the next command, beside a random
        # `Idempotency-Key` — two names for one command that disagree, which
        # the API refuses by design (422) and hooks cannot reach there.
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        # No memory across runs: the seed alone decides what is generated.
        "--generation-database", "none",
        # One worker: with two threads, CPython 3.11 sometimes fails inside
        # schemathesis ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--suppress-health-check", "too_slow",
        "--report", "junit",
        "--report-dir", str(WORK_DIR / caller),
    ]
    print(f"\n== schemathesis as {caller} ==", flush=True)
    # In the work dir: schemathesis keeps a cache where it runs. The hooks
    # (scripts/api_fuzz_hooks.py) give it the rules OpenAPI cannot state.
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "api_fuzz_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(command, cwd=WORK_DIR, env=env).returncode


def main() -> int:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    binary = ledgerline_bin()
    suffix = secrets.token_hex(5)
    database = f"ll_fuzz_{suffix}"  # `make clean-test-data` finds it if we cannot drop it
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    pg_base = os.environ.get("LEDGERLINE_TEST_PG", "postgres://postgres@127.0.0.1:5432")
    env = {
        **os.environ,
        "HTTP_ADDR": f"127.0.0.1:{port}",
        "DATABASE_URL": f"{pg_base}/{database}",
        "NATS_PREFIX": f"llfuzz{suffix}",
        "DEMO_LOGIN": "true",
        "JWT_SECRET": secrets.token_hex(32),
        # The API only: the browser app's files are not in the document.
        "WEB_DIR": str(WORK_DIR / "no-web-app"),
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
    }
    env.pop("CHAOS_FAILURE_RATE", None)
    log_path = WORK_DIR / "ledgerline.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([binary, "all"], env=env, stdout=log, stderr=log)
    started = time.monotonic()
    try:
        wait_ready(base_url, server)
        login = f"{base_url}/auth/demo-login"
        user = post_json(login, {"userId": "fuzz-user"})["token"]
        operator = post_json(login, {"userId": "fuzz-ops", "role": "operator"})["token"]
        failed = [
            caller
            for caller, token in [("user", user), ("operator", operator)]
            if schemathesis(base_url, token, caller) != 0
        ]
        if server.poll() is not None:
            print(f"ledgerline exited during the run ({server.returncode}); log {log_path}")
            return 1
    except Exception as error:  # noqa: BLE001 - reported, then cleaned up
        print(f"api-fuzz: {error}; log {log_path}", file=sys.stderr)
        return 1
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        subprocess.run([binary, "cleanup-streams"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
        subprocess.run(["psql", f"{pg_base}/postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
                       stdout=subprocess.DEVNULL, timeout=30, check=False)
    took = time.monotonic() - started
    if failed:
        print(f"\napi-fuzz: failures as {', '.join(failed)} ({took:.0f} s); reports in {WORK_DIR}")
        return 1
    print(f"\napi-fuzz: no failures as user or operator ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
