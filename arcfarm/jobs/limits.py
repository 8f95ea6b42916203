"""Sizes a submission may have, shared by the API and the CLI (constants only: cheap to import).

MAX_TASKS_PER_RUN: the most tasks one run (one request, one `arcfarm submit`) may hold; ARC's
largest set has 1,000. Rows are written in chunks far below PostgreSQL's 65,535 bind parameters
either way (arcfarm.db.writes.CHUNK_ROWS).
MAX_RUN_ID: runs.id is a 32-bit INTEGER on PostgreSQL, so no run has a larger id; a larger one is
refused as input rather than overflowing a database driver (PostgreSQL's or SQLite's).
"""
MAX_TASKS_PER_RUN = 10_000
MAX_RUN_ID = 2**31 - 1
