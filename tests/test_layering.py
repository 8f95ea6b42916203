"""Each package imports only what its layer may. A fresh interpreter imports every module of the
package, then looks at sys.modules: the dependency arrows point one way (api, cli, workers ->
jobs -> db -> learn -> sandbox -> arc), and torch, Celery, SQL and the web stack stay where they
are needed. A package that breaks its rule fails with the modules it pulled in."""
from __future__ import annotations

import subprocess
import sys

import pytest

TORCH = ("torch", "transformers", "peft", "accelerate")
CELERY = ("celery", "kombu", "redis")
SQL = ("sqlalchemy", "psycopg", "alembic")
WEB = ("fastapi", "starlette", "uvicorn")
ABOVE_DB = ("arcfarm.jobs", "arcfarm.workers", "arcfarm.api", "arcfarm.cli")

RULES: dict[str, tuple[str, ...]] = {
    # the ARC domain: numpy only, the bottom layer
    "arcfarm.arc": TORCH + CELERY + SQL + WEB + ("arcfarm.sandbox", "arcfarm.learn", "arcfarm.db")
    + ABOVE_DB,
    # runs programs; a worker process must stay small, so no torch either
    "arcfarm.sandbox": TORCH + CELERY + SQL + WEB + ("arcfarm.learn", "arcfarm.db") + ABOVE_DB,
    # search-and-learn on one task: torch, but no queue, database or web
    "arcfarm.learn": CELERY + SQL + WEB + ("arcfarm.db",) + ABOVE_DB,
    # all SQL; no queue, no torch
    "arcfarm.db": TORCH + CELERY + WEB + ABOVE_DB,
    # the producer: rows and messages; Celery is imported only when a message is sent
    "arcfarm.jobs": TORCH + CELERY + WEB + ("arcfarm.workers", "arcfarm.api", "arcfarm.cli"),
    # the API process never loads a model or builds a Celery app at import
    "arcfarm.api": TORCH + CELERY + ("arcfarm.workers", "arcfarm.cli"),
}

PROBE = """
import importlib, pkgutil, sys
package, forbidden = sys.argv[1], sys.argv[2].split(",")
root = importlib.import_module(package)
for info in pkgutil.walk_packages(root.__path__, package + "."):
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
print(",".join(bad))
"""


@pytest.mark.parametrize("package", list(RULES))
def test_package_imports_only_its_layer(package):
    out = subprocess.run([sys.executable, "-c", PROBE, package, ",".join(RULES[package])],
                         capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "", f"{package} pulled in: {out.stdout.strip()}"
