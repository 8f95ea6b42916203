"""The toy package runs on a bare GPU image: no farm imports (celery, sqlalchemy, fastapi ...)."""
import subprocess
import sys

FORBIDDEN = ("celery", "kombu", "redis", "sqlalchemy", "psycopg", "alembic", "fastapi", "starlette",
             "uvicorn", "typer", "arcfarm.db", "arcfarm.api", "arcfarm.workers", "arcfarm.settings")


def test_toy_modules_import_nothing_from_the_farm():
    code = (
        "import importlib, sys\n"
        "for m in ('arcfarm.toy.synth', 'arcfarm.toy.train', 'arcfarm.toy.eval', 'arcfarm.learn.loop'):\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""})
    assert out.stdout.strip() == "", f"toy pulled in: {out.stdout.strip()}"
