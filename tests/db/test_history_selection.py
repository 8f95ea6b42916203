"""The selection of `arcfarm learn` (db.reads.history_programs) on the synthetic two-run history of
conftest.py: which programs each policy keeps, that docs/queries.sql shows the SQL the code runs,
and that the selection never reads test outputs (run as a PostgreSQL role that may not)."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from arcfarm.db import reads

QUERIES_SQL = Path(__file__).resolve().parents[2] / "docs" / "queries.sql"


def picked(programs):
    return [(p.task_id, p.fingerprint, p.rank) for p in programs]


def test_top_k_ranks_distinct_outputs_by_train_grids_then_code(history):
    session, ids = history
    programs = reads.history_programs(session=session, run_ids=[ids["run_a"], ids["run_b"]],
                                      policy="top8")
    # t1: f1 (2 grids) before f2 (1); t2: g2 (1) first, then g1 and g3 (0 each, same code
    # length: the older prediction first); t3: h1 only (the rest failed).
    assert picked(programs) == [("t1", "f1", 1), ("t1", "f2", 2), ("t2", "g2", 1),
                                ("t2", "g1", 2), ("t2", "g3", 3), ("t3", "h1", 1)]
    # One program per output: f1 was sampled three times, the first (run A, sample 0) stands for it.
    assert programs[0].response == "resp 0" and programs[0].train_correct == 2
    assert all("output" not in t for p in programs for t in p.task_json["test"])
    assert programs[0].train_outputs == [[[0]], [[0]]]


def test_top_k_cuts_per_task_and_reads_only_the_runs_given(history):
    session, ids = history
    programs = reads.history_programs(session=session, run_ids=[ids["run_b"]], policy="top1")
    assert picked(programs) == [("t1", "f1", 1), ("t2", "g3", 1)]


def test_passing_keeps_programs_that_pass_every_train_pair(history):
    session, ids = history
    programs = reads.history_programs(session=session, run_ids=[ids["run_a"], ids["run_b"]],
                                      policy="passing")
    assert picked(programs) == [("t1", "f1", 1), ("t2", "g2", 1), ("t3", "h1", 1)]


@pytest.mark.parametrize("policy", ["top0", "top", "best8", "passing ", "top10000"])
def test_unknown_policy_is_an_error_naming_it(history, policy):
    session, ids = history
    with pytest.raises(reads.PolicyError, match=re.escape(repr(policy))):
        reads.history_programs(session=session, run_ids=[ids["run_a"]], policy=policy)


def _doc_blocks() -> dict[str, str]:
    parts = re.split(r"^-- ([QL]):", QUERIES_SQL.read_text(), flags=re.M)[1:]
    blocks = {}
    for kind, block in zip(parts[::2], parts[1::2]):
        if kind == "L":
            head, _, body = block.partition("\n")
            name = head.partition(":")[0]
            sql = "\n".join(x for x in body.splitlines() if not x.lstrip().startswith("--"))
            blocks[name.strip()] = sql.strip().rstrip(";")
    return blocks


def test_docs_show_the_sql_the_code_runs():
    blocks = _doc_blocks()
    assert blocks == {"top<k>": reads.HISTORY_TOP_K_SQL, "passing": reads.HISTORY_PASSING_SQL}


def test_selection_never_reads_test_outputs(history):
    """As a role that may read tasks, jobs and predictions but not `solutions`,
    predictions.test_outputs nor predictions.test_correct, every policy gives the same rows."""
    session, ids = history
    if session.bind.dialect.name != "postgresql":
        pytest.skip("column privileges need PostgreSQL")
    run_ids = [ids["run_a"], ids["run_b"]]
    expected = {policy: reads.history_programs(session=session, run_ids=run_ids, policy=policy)
                for policy in ("top8", "top2", "passing")}
    role = f"arcfarm_test_blind_{secrets.token_hex(4)}"
    hidden = {"test_outputs", "test_correct"}
    allowed = [c["name"] for c in sa.inspect(session.bind).get_columns("predictions")
               if c["name"] not in hidden]
    admin = session.bind.connect()
    admin.execute(sa.text(f'CREATE ROLE "{role}" NOLOGIN'))
    admin.execute(sa.text(f'GRANT SELECT ON tasks, jobs TO "{role}"'))
    admin.execute(sa.text(f'GRANT SELECT ({", ".join(allowed)}) ON predictions TO "{role}"'))
    admin.commit()
    try:
        with Session(bind=admin) as blind:
            blind.execute(sa.text(f'SET ROLE "{role}"'))
            for policy, rows in expected.items():
                assert reads.history_programs(session=blind, run_ids=run_ids, policy=policy) == rows
            # The wall is real: the same role is refused what the selection must not read.
            for forbidden in ("SELECT test_correct FROM predictions", "SELECT * FROM solutions"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with blind.begin_nested():
                        blind.execute(sa.text(forbidden))
            blind.rollback()
    finally:
        admin.rollback()
        admin.execute(sa.text("RESET ROLE"))
        admin.execute(sa.text(f'DROP OWNED BY "{role}"'))
        admin.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.commit()
        admin.close()
