"""The scale bench reads the stand-in workers' timing files while they may still be writing."""
from __future__ import annotations

import json

from arcfarm.bench.scale_bench import _timings


def test_timings_keep_this_levels_complete_lines_and_name_the_worker(tmp_path):
    line = {"job_id": 1, "start": 0.0, "end": 1.0, "db_s": 0.1}
    (tmp_path / "101.jsonl").write_text(json.dumps(line) + "\n" + json.dumps({**line, "job_id": 9}) + "\n")
    (tmp_path / "102.jsonl").write_text(json.dumps({**line, "job_id": 2}) + "\n"
                                        + json.dumps({**line, "job_id": 3})[:20])  # mid-write
    rows = _timings(tmp_path, {1, 2, 3})
    assert sorted((r["job_id"], r["worker"]) for r in rows) == [(1, "101"), (2, "102")]
