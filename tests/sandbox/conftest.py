"""Fixtures of the sandbox tests: planted files a program must never read or write, and secrets
in the environment of the process that starts the executor (constants in sandbox_kit.py)."""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from sandbox_kit import ENV_SECRETS, MARKER, PLANTED, PROTECTED, SOLUTION_SECRET, canary_files


@pytest.fixture(scope="session")
def planted():
    """Files outside any temp dir: readable by all, readable by root only, a database with a
    `solutions` table, and a folder everyone may write to. Removed afterwards."""
    shutil.rmtree(PLANTED, ignore_errors=True)
    PLANTED.mkdir(mode=0o755)
    (PLANTED / "marker.txt").write_text(MARKER + "\n")
    (PLANTED / "marker.txt").chmod(0o644)
    (PLANTED / "protected.txt").write_text(PROTECTED + "\n")
    (PLANTED / "protected.txt").chmod(0o600)
    db = sqlite3.connect(PLANTED / "solutions.db")
    db.execute("CREATE TABLE solutions (task TEXT, output TEXT)")
    db.execute("INSERT INTO solutions VALUES (?, ?)", (SOLUTION_SECRET, "[[7, 7], [7, 7]]"))
    db.commit()
    db.close()
    (PLANTED / "solutions.db").chmod(0o644)
    (PLANTED / "open").mkdir()
    (PLANTED / "open").chmod(0o777)
    for path in canary_files():
        os.remove(path)
    yield PLANTED
    shutil.rmtree(PLANTED, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_env():
    """Secrets in the environment of the process that starts the executor, as on a worker host."""
    saved = {k: os.environ.get(k) for k in ENV_SECRETS}
    os.environ.update(ENV_SECRETS)
    yield ENV_SECRETS
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
