#!/usr/bin/env bash
# Fuzz the published API schema against a running server (gunicorn on loopback, demo data):
# no 5xx and no response that violates the schema. Fails CI on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORK=$(mktemp -d)
DB=$WORK/schemathesis.sqlite3
export SECRET_KEY="$(openssl rand -hex 32)"
# One client address sends every case: the throttles (tested in tests/security/test_throttles.py) are off here.
export API_ANON_RATE= API_USER_RATE= LOGIN_THROTTLE_RATE= REGISTER_THROTTLE_RATE=
export DATABASE_URL="sqlite:///$DB" DEBUG=0 ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 MARKET_MIN_BIDDING_WINDOW_SECONDS=60
$PY manage.py migrate -v0
$PY manage.py seed_demo --quiet --owners 10 --agencies 40 --requests 20
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/gunicorn market.wsgi -b 127.0.0.1:$PORT -w 2 --pid "$WORK/gunicorn.pid" --daemon
trap 'kill $(cat "$WORK/gunicorn.pid") 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz/" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/healthz/" >/dev/null || { echo "the server did not start on port $PORT"; exit 1; }
TOKEN=$($PY manage.py shell -c "from rest_framework.authtoken.models import Token; from market.models import User; print(Token.objects.get_or_create(user=User.objects.get(username='owner1'))[0].key)" 2>/dev/null | tail -1)

# Two passes at once (each takes about as long as the set-up; together they stay near two minutes):
# without a token (schemathesis signs up a fresh account itself) and as owner1, a project owner.
# Strings may hold NUL bytes (the default, said here so that it stays so): the API refuses them at the
# edge with 400 (market/input_guard.py); tests/security/test_bad_input_fuzz.py covers the pages too.
run() {
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" --url "http://127.0.0.1:$PORT" \
    -c not_a_server_error,response_schema_conformance -n "${SCHEMATHESIS_EXAMPLES:-25}" --phases examples,fuzzing \
    --generation-allow-x00 true --seed 2026 "$@"
}
run >"$WORK/anonymous.log" 2>&1 & ANONYMOUS=$!
run -H "Authorization: Token $TOKEN" >"$WORK/owner.log" 2>&1 & OWNER=$!
status=0
wait $ANONYMOUS || status=1
echo "-- schemathesis without a token"; cat "$WORK/anonymous.log"
wait $OWNER || status=1
echo "-- schemathesis as owner1"; cat "$WORK/owner.log"
exit $status
