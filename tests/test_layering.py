"""The search-and-learn core imports and runs without Celery, a database, a web stack or a GPU."""
import subprocess
import sys

FORBIDDEN = ("celery", "kombu", "redis", "sqlalchemy", "psycopg", "alembic", "fastapi",
             "starlette", "uvicorn", "arcfarm.db", "arcfarm.api", "arcfarm.workers")

CORE_MODULES = ("arcfarm.arc.tasks", "arcfarm.arc.datasets", "arcfarm.arc.prompts",
                "arcfarm.arc.common", "arcfarm.arc.augment", "arcfarm.sandbox",
                "arcfarm.arc.scoring", "arcfarm.learn.relabel", "arcfarm.learn.config",
                "arcfarm.learn.records", "arcfarm.learn.engines", "arcfarm.learn.trainer",
                "arcfarm.learn.loop", "arcfarm.learn.solver")


def test_core_imports_nothing_from_the_farm():
    code = (
        "import importlib, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""}, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"
