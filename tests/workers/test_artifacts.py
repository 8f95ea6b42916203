"""The adapter store: upload, download, checksum; on a folder and on an fsspec memory URL."""
from __future__ import annotations

from pathlib import Path

import pytest

from arcfarm.workers.artifacts import WEIGHTS_FILE, ArtifactError, ArtifactStore


def _save(directory: str) -> dict:
    Path(directory, WEIGHTS_FILE).write_bytes(b"\x01\x02weights" * 100)
    Path(directory, "adapter_config.json").write_text('{"r": 8}')
    return {}


@pytest.mark.parametrize("root", ["folder", "memory://arcfarm-test-artifacts"])
def test_round_trip_and_checksum(root, tmp_path):
    store = ArtifactStore(str(tmp_path / "store") if root == "folder" else root)
    info = store.save_adapter(_save, 3, 17, 2)
    assert info["uri"].endswith("/3/17/epoch-2") and info["bytes"] == 900
    local = Path(store.fetch_adapter(info["uri"], info["sha256"], str(tmp_path / "got")))
    assert sorted(p.name for p in local.iterdir()) == ["adapter_config.json", WEIGHTS_FILE]
    assert (local / WEIGHTS_FILE).read_bytes() == b"\x01\x02weights" * 100
    with pytest.raises(ArtifactError, match="does not match"):
        store.fetch_adapter(info["uri"], "0" * 64, str(tmp_path / "again"))


def test_missing_weights_are_an_error(tmp_path):
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(ArtifactError, match=WEIGHTS_FILE):
        store.save_adapter(lambda d: {}, 1, 1, 1)
    with pytest.raises(ArtifactError, match="missing"):
        store.fetch_adapter(f"file://{tmp_path}/nothing", None, str(tmp_path / "x"))
