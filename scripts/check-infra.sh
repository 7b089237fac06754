#!/usr/bin/env bash
# Says exactly what is missing for `make demo` / `make test`, and how to get it.
set -u
missing=0
nats_url=${NATS_URL:-nats://127.0.0.1:4222}
nats_hostport=${nats_url#nats://}
nats_host=${nats_hostport%:*}; nats_port=${nats_hostport##*:}
db_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ledgerline}
db_hostport=$(echo "$db_url" | sed -E 's#^[a-z]+://([^@/]*@)?([^/]*)/.*#\2#')
db_host=${db_hostport%:*}; db_port=${db_hostport##*:}

if ! command -v cargo >/dev/null; then
  echo "missing: Rust (cargo). Install it with rustup: https://rustup.rs"; missing=1
fi
if ! command -v npm >/dev/null; then
  echo "missing: Node.js and npm (for the browser app). On Debian: apt-get install -y nodejs npm"; missing=1
fi
if ! (exec 3<>"/dev/tcp/$nats_host/$nats_port") 2>/dev/null; then
  cat <<MSG
missing: NATS with JetStream at $nats_host:$nats_port (NATS_URL=$nats_url).
  Debian:  apt-get install -y nats-server && nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server &
  Docker:  docker run -d -p 4222:4222 nats:2.10 -js
MSG
  missing=1
fi
if ! (exec 3<>"/dev/tcp/$db_host/$db_port") 2>/dev/null; then
  cat <<MSG
missing: PostgreSQL at $db_host:$db_port (DATABASE_URL=$db_url).
  Debian:  apt-get install -y postgresql && pg_ctlcluster 15 main start
  Docker:  docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
MSG
  missing=1
fi
exit $missing
