#!/usr/bin/env bash
# A database made by an earlier main migrates forward to this tree without loss.
#
# The earlier tree (BASE_REF, default: the last commit before the domain packages) creates a
# PostgreSQL database and fills it with the demo data; this tree then migrates it, and the check
# compares every table's row count before and after and walks the audit chains (verify_audit).
# Usage: .ci/migrate_forward.sh [BASE_REF]      (needs the git history and PostgreSQL on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_REF="${1:-${BASE_REF:-574f5a5}}"
PY="$PWD/.venv/bin/python"
DB="market_forward_$$"
URL="postgres://postgres@127.0.0.1:5432/${DB}"
WORK="$(mktemp -d)"
cleanup() {
  git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${DB}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! git cat-file -e "${BASE_REF}^{commit}" 2>/dev/null; then
  git fetch --quiet --unshallow >/dev/null 2>&1 || true
fi
if ! git cat-file -e "${BASE_REF}^{commit}" 2>/dev/null; then
  echo "migrate-forward: SKIPPED, commit ${BASE_REF} is not in this clone (a shallow clone: fetch the history)" >&2
  exit 0
fi
git worktree add --detach "$WORK/base" "$BASE_REF" >/dev/null 2>&1
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE ${DB}" >/dev/null

counts() {
  psql -h 127.0.0.1 -U postgres -d "$DB" -At -c "
    SELECT string_agg(format('SELECT %L AS t, count(*) AS n FROM %I', tablename, tablename), ' UNION ALL ')
    FROM pg_tables WHERE schemaname = 'public'" | psql -h 127.0.0.1 -U postgres -d "$DB" -At -F ' ' | sort
}

echo "-- ${BASE_REF}: migrate and seed the demo data"
(cd "$WORK/base" && DEBUG=1 DATABASE_URL="$URL" MEDIA_ROOT="$WORK/media" PRIVATE_MEDIA_ROOT="$WORK/private" \
  "$PY" manage.py migrate --noinput -v0 && DEBUG=1 DATABASE_URL="$URL" MEDIA_ROOT="$WORK/media" \
  PRIVATE_MEDIA_ROOT="$WORK/private" "$PY" manage.py seed_demo >/dev/null)
counts > "$WORK/before.txt"

echo "-- this tree: migrate forward"
DEBUG=1 DATABASE_URL="$URL" MEDIA_ROOT="$WORK/media" PRIVATE_MEDIA_ROOT="$WORK/private" "$PY" manage.py migrate --noinput -v1 | grep -v '^  No migrations' || true
counts > "$WORK/after.txt"

# Tables the new migrations add may appear (with their rows); no table may lose a row.
python3 - "$WORK/before.txt" "$WORK/after.txt" <<'PY'
import sys
def read(p):
    return {t: int(n) for t, n in (line.split() for line in open(p) if line.strip())}
before, after = read(sys.argv[1]), read(sys.argv[2])
lost = {t: (n, after.get(t)) for t, n in before.items() if t != "django_migrations" and after.get(t, -1) < n}
if lost:
    for t, (b, a) in sorted(lost.items()):
        print(f"LOST  {t}: {b} rows before, {a} after")
    sys.exit(1)
print(f"migrate-forward: {len(before)} tables, {sum(before.values())} rows kept; "
      f"{len(set(after) - set(before))} new tables")
PY
DEBUG=1 DATABASE_URL="$URL" "$PY" manage.py verify_audit
DEBUG=1 DATABASE_URL="$URL" "$PY" manage.py check --database default
