#!/usr/bin/env bash
# Fuzz the published API schema against a running server (gunicorn on loopback, demo data):
# no 5xx and no response that violates the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DB=$(mktemp -d)/schemathesis.sqlite3
export DATABASE_URL="sqlite:///$DB" DEBUG=0 ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 MARKET_MIN_BIDDING_WINDOW_SECONDS=60
$PY manage.py migrate -v0
$PY manage.py seed_demo --quiet --owners 10 --agencies 40 --requests 20
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/gunicorn market.wsgi -b 127.0.0.1:$PORT -w 2 --pid /tmp/schemathesis-gunicorn.pid --daemon
trap 'kill $(cat /tmp/schemathesis-gunicorn.pid) 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz/" >/dev/null && break; sleep 0.2; done
TOKEN=$($PY manage.py shell -c "from rest_framework.authtoken.models import Token; from market.models import User; print(Token.objects.get_or_create(user=User.objects.get(username='owner1'))[0].key)" 2>/dev/null | tail -1)
for AUTH in "" "Authorization: Token $TOKEN"; do
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" --url "http://127.0.0.1:$PORT" \
    -c not_a_server_error,response_schema_conformance -n "${SCHEMATHESIS_EXAMPLES:-25}" --phases examples,fuzzing \
    ${AUTH:+-H "$AUTH"} --seed 2026
done
