#!/bin/sh
# One-shot before the API and the workers start: wait for PostgreSQL, then migrate it.
# compose.yml runs this as the `migrate` service; the others wait for it to complete.
set -eu

tries=0
until python - <<'PY'
import os, sys
import sqlalchemy as sa
try:
    with sa.create_engine(os.environ["ARCFARM_DATABASE_URL"]).connect() as conn:
        conn.execute(sa.text("SELECT 1"))
except Exception as exc:  # noqa: BLE001
    print(f"database not ready: {exc.__class__.__name__}", file=sys.stderr)
    sys.exit(1)
PY
do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "gave up waiting for the database" >&2
        exit 1
    fi
    sleep 1
done

exec arcfarm db upgrade
