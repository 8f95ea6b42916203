"""Every question in docs/queries.sql runs against the synthetic two-run history and returns the rows
worked out by hand from tests/db/conftest.py (RUN_A: 3 tasks x 2 epochs, RUN_B: 1 epoch, t3 failed)."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

QUERIES_SQL = Path(__file__).resolve().parents[2] / "docs" / "queries.sql"
A, B = "run_a", "run_b"  # replaced by the run ids

# question prefix -> expected rows (run ids as A/B)
EXPECTED = {
    "Solve rate by epoch": [(A, 0, 1, 3, 0.333), (A, 1, 2, 3, 0.667), (B, 0, 1, 3, 0.333)],
    "Which tasks were first solved after epoch 0": [(A, "t2", 1)],
    "Error mix": [(A, "none", 8), (A, "ValueError", 2), (A, "syntax", 1), (A, "timeout", 1),
                  (B, "none", 3), (B, "timeout", 2), (B, "syntax", 1)],
    "Tokens per solved task": [(A, "t1", 330), (A, "t2", 280), (B, "t1", 200)],
    "Compare two runs": [("t1", 1.0, 1.0, 0, 0, 4, 2), ("t2", 1.0, 0.0, 1, None, 4, 2),
                         ("t3", 0.5, None, None, None, 4, 2)],
    "Solve rate vs predictions spent": [(A, 1, 1, 3, 0.333), (A, 2, 1, 3, 0.333), (A, 4, 2, 3, 0.667),
                                        (A, 8, 2, 3, 0.667), (B, 1, 1, 3, 0.333), (B, 2, 1, 3, 0.333),
                                        (B, 4, 1, 3, 0.333), (B, 8, 1, 3, 0.333)],
    "Best program per task": [(A, "t1", 0, 0, 2, True, "# program 0"), (A, "t2", 3, 1, 1, True, "# program 3"),
                              (A, "t3", 0, 0, 1, False, "# program 0"), (B, "t1", 0, 0, 2, True, "# program 0"),
                              (B, "t2", 0, 0, 0, False, "# program 0"), (B, "t3", 0, 0, 0, False, "# program 0")],
    "Time split per phase": [(A, 6.0, 3.0, 6.0, 0.4), (B, 3.0, 1.5, 0.0, 0.0)],
    "Leaderboard": [(A, "run-a", 2.5, 2, 3, 0, 12, 60.0), (B, "run-b", 1.0, 1, 3, 1, 6, 10.0)],
    "Overfitting": [(A, "t3", 2, 0.5)],
    "Output diversity per epoch": [(A, 0, 6, 3, 3), (A, 1, 6, 5, 5), (B, 0, 6, 3, 3)],
}


def parse_queries(text: str) -> list[tuple[str, str]]:
    """(question, sql) for every block that starts with a `-- Q:` line (`-- L:` blocks, the
    learning selection, are tested in test_history_selection.py)."""
    parts = re.split(r"^-- ([QL]):", text, flags=re.M)[1:]
    out = []
    for kind, block in zip(parts[::2], parts[1::2]):
        if kind != "Q":
            continue
        question, _, body = block.partition("\n")
        sql = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--"))
        out.append((question.strip(), sql.strip().rstrip(";")))
    return out


QUERIES = parse_queries(QUERIES_SQL.read_text())


def normal(value):
    """Compare across drivers: Decimal/float rounded, SQLite's 0/1 booleans as ints."""
    if isinstance(value, (Decimal, float)):
        return round(float(value), 3)
    return value


def expectation(question: str, ids: dict[str, int]) -> list[tuple]:
    [key] = [k for k in EXPECTED if question.startswith(k)]
    return [tuple(normal(ids.get(v, v) if isinstance(v, str) else v) for v in row) for row in EXPECTED[key]]


def test_file_has_a_question_for_every_expectation():
    questions = [q for q, _ in QUERIES]
    assert len(questions) >= 8
    for key in EXPECTED:
        assert sum(q.startswith(key) for q in questions) == 1, key
    assert all(any(q.startswith(k) for k in EXPECTED) for q in questions)


@pytest.mark.parametrize("question,sql", QUERIES, ids=[q.split(":")[0] for q, _ in QUERIES])
def test_query_returns_expected_rows(history, question, sql):
    session, synthetic = history
    params = {k: v for k, v in synthetic.items() if f":{k}" in sql}
    rows = session.execute(sa.text(sql), params).all()
    assert [tuple(normal(v) for v in row) for row in rows] == expectation(question, synthetic)
