"""A fresh, migrated PostgreSQL database for a benchmark run, in a fraction of a second.

Migrating from nothing takes ~8 s here, and a benchmark builds a new database for every size it
runs (the tiny runs in `make test` do it four times). The first run migrates a template database
named after a fingerprint of every migration file; each run after it copies that template
(`CREATE DATABASE … TEMPLATE`, a file copy). A change to any migration gives a new fingerprint,
so a stale template is never used; older templates are dropped when a new one is made.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PREFIX = "rr_bench_tpl_"


def migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _connect(pg: str):
    import psycopg2

    conn = psycopg2.connect(f"{pg}/postgres")
    conn.autocommit = True
    return conn


def _exists(cur, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cur.fetchone() is not None


def _build_template(pg: str, template: str, env: dict[str, str]) -> None:
    """Migrate a scratch database, then rename it: a half-migrated template never exists."""
    import psycopg2

    scratch = f"{template}_building"
    conn = _connect(pg)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {scratch}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"{pg}/{scratch}"},
        check=True,
    )
    with conn.cursor() as cur:
        try:
            cur.execute(f"ALTER DATABASE {scratch} RENAME TO {template}")
        except psycopg2.errors.DuplicateDatabase:  # another run built it meanwhile
            cur.execute(f"DROP DATABASE {scratch} WITH (FORCE)")
        cur.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [f"{TEMPLATE_PREFIX}%", template],
        )
        for (old,) in cur.fetchall():
            if not old.endswith("_building"):
                cur.execute(f"DROP DATABASE IF EXISTS {old} WITH (FORCE)")
    conn.close()


def fresh_database(pg: str, name: str, env: dict[str, str]) -> None:
    """Drop `name` and make it again as a copy of the migrated template (built when missing)."""
    template = f"{TEMPLATE_PREFIX}{migrations_fingerprint()}"
    conn = _connect(pg)
    with conn.cursor() as cur:
        missing = not _exists(cur, template)
    if missing:
        _build_template(pg, template, env)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    conn.close()
