"""The adapter store: LoRA adapters saved per epoch under `<root>/<run>/<job>/epoch-<k>/`, and
those `arcfarm learn` trained under `<root>/trainings/<id>/`.

`root` is a folder or any fsspec URL (`s3://bucket/arcfarm`, `gs://...`, `memory://...`).
An adapter is written to a local temporary folder first, uploaded file by file, and only then
recorded in the database (by the caller): a row in `adapters` always points at complete files.
A crash mid-upload leaves files that no row refers to; the job's next delivery overwrites them.
A failed upload (a full disk: OSError ENOSPC) removes what it wrote and raises ArtifactError
naming the store, job, epoch and cause; the caller then records no adapter row.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Callable

from fsspec.core import url_to_fs

WEIGHTS_FILE = "adapter_model.safetensors"  # what the checksum covers (peft's file name)


class ArtifactError(RuntimeError):
    """An adapter that cannot be read back, or whose checksum does not match."""


class ArtifactStore:
    def __init__(self, root: str):
        self.root_url = root
        self.fs, root_path = url_to_fs(root)
        self.root = root_path.rstrip("/")

    def adapter_path(self, run_id: int, job_id: int, epoch: int) -> str:
        return f"{self.root}/{run_id}/{job_id}/epoch-{epoch}"

    def training_path(self, training_id: int) -> str:
        return f"{self.root}/trainings/{training_id}"

    def save_adapter(self, save: Callable[[str], dict], run_id: int, job_id: int,
                     epoch: int) -> dict:
        """Call `save(local_dir)` (Solver.save_adapter), upload the folder; {"uri","sha256","bytes"}."""
        return self._save(save, self.adapter_path(run_id, job_id, epoch),
                          f"job {job_id} epoch {epoch}")

    def save_training(self, save: Callable[[str], object], training_id: int) -> dict:
        """The adapter `arcfarm learn` trained, under `<root>/trainings/<id>/`; as save_adapter."""
        return self._save(save, self.training_path(training_id), f"training {training_id}")

    def _save(self, save: Callable[[str], object], dest: str, what: str) -> dict:
        with tempfile.TemporaryDirectory(prefix="arcfarm-adapter-") as tmp:
            save(tmp)
            local = Path(tmp)
            weights = local / WEIGHTS_FILE
            if not weights.is_file():
                raise ArtifactError(f"adapter save wrote no {WEIGHTS_FILE} in {tmp}")
            try:
                self._upload(local, dest)
            except OSError as exc:
                self._remove(dest)
                reason = exc.strerror or str(exc)
                raise ArtifactError(f"adapter store {self.root_url}: cannot write the adapter of "
                                    f"{what} ({reason}, errno {exc.errno}); nothing was "
                                    "recorded for it") from exc
            return {"uri": self.fs.unstrip_protocol(dest), "sha256": _sha256(weights),
                    "bytes": weights.stat().st_size}

    def _upload(self, local: Path, dest: str) -> None:
        self.fs.makedirs(dest, exist_ok=True)
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            target = f"{dest}/{file.relative_to(local).as_posix()}"
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(str(file), target)

    def _remove(self, dest: str) -> None:
        """Best effort: a half-written adapter folder must not look like a complete one."""
        try:
            if self.fs.exists(dest):
                self.fs.rm(dest, recursive=True)
        except OSError:
            pass

    def fetch_adapter(self, uri: str, sha256: str | None, into: str) -> str:
        """Download the adapter at `uri` into the local folder `into`; check its checksum."""
        fs, path = url_to_fs(uri)
        if not fs.exists(f"{path}/{WEIGHTS_FILE}"):
            raise ArtifactError(f"adapter {uri}: {WEIGHTS_FILE} is missing")
        local = Path(into)
        local.mkdir(parents=True, exist_ok=True)
        for remote in fs.find(path):
            rel = remote[len(path.rstrip("/")) + 1:]
            (local / rel).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote, str(local / rel))
        got = _sha256(local / WEIGHTS_FILE)
        if sha256 and got != sha256:
            raise ArtifactError(f"adapter {uri}: sha256 {got} does not match the recorded {sha256}")
        return str(local)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

