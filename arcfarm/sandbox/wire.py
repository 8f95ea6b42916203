"""The byte formats between the executor and its workers.

Frames are a 4-byte big-endian length then the payload, the format that
multiprocessing.connection.Connection uses, so the parent can use `send_bytes`/`recv_bytes`
while the worker writes with plain os.write (and never needs multiprocessing).

Requests (parent -> worker, trusted) are pickles. Results (worker -> parent) are NOT pickles:
the worker runs untrusted code, and unpickling its bytes could run code in the parent, which
holds the secrets. A result is one line of JSON (error classes, message, shapes, stdout)
followed by the output cells as raw uint8 bytes; `decode_result` checks every field and raises
WireError on anything unexpected.
"""
from __future__ import annotations

import json
import os
import pickle
import struct
from dataclasses import dataclass

import numpy as np

from arcfarm.sandbox.errors import MAX_CLASS_CHARS, MAX_MESSAGE_CHARS

MAX_RESULT_BYTES = 4 * 1024 * 1024
_HEADER = struct.Struct("!i")


class WireError(ValueError):
    """A worker sent bytes that are not a well-formed result."""


def write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next payload, or None at end of stream."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    (size,) = _HEADER.unpack(head)
    return _read_exact(fd, size) if size > 0 else b""


def encode_request(code: str, inputs: tuple[np.ndarray, ...], timeout_s: float) -> bytes:
    return pickle.dumps((code, tuple(np.asarray(g, dtype=np.int64) for g in inputs), timeout_s),
                        protocol=pickle.HIGHEST_PROTOCOL)


def decode_request(data: bytes) -> tuple[str, tuple[np.ndarray, ...], float]:
    return pickle.loads(data)


@dataclass
class WireResult:
    error: str | None
    message: str | None
    grid_errors: list[str | None]
    outputs: list[np.ndarray | None]
    stdout: str
    recycle: bool  # the worker asks to be replaced (memory spike, stray threads, ...)


def encode_result(result: WireResult) -> bytes:
    shapes, cells = [], []
    for grid in result.outputs:
        if grid is None:
            shapes.append(None)
        else:
            shapes.append(list(grid.shape))
            cells.append(grid.astype(np.uint8).tobytes())
    head = {"e": result.error, "m": result.message, "g": result.grid_errors, "s": shapes,
            "o": result.stdout, "r": result.recycle}
    return json.dumps(head).encode() + b"\n" + b"".join(cells)


def _text(value: object, limit: int, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireError(f"{field} is not a string")
    return value[:limit]


def decode_result(data: bytes, n_grids: int, stdout_limit: int) -> WireResult:
    """Parse and check a worker's result for a program that had `n_grids` inputs."""
    head_bytes, sep, body = data.partition(b"\n")
    if not sep:
        raise WireError("no header line")
    try:
        head = json.loads(head_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"bad header: {exc}") from None
    if not isinstance(head, dict):
        raise WireError("header is not an object")
    errors, shapes = head.get("g"), head.get("s")
    if not isinstance(errors, list) or not isinstance(shapes, list) or len(errors) != n_grids \
            or len(shapes) != n_grids:
        raise WireError("per-grid fields have the wrong length")
    outputs = _decode_grids(shapes, body)
    return WireResult(
        error=_text(head.get("e"), MAX_CLASS_CHARS, "error"),
        message=_text(head.get("m"), MAX_MESSAGE_CHARS, "message"),
        grid_errors=[_text(e, MAX_CLASS_CHARS, "grid error") for e in errors],
        outputs=outputs,
        stdout=_text(head.get("o"), stdout_limit, "stdout") or "",
        recycle=head.get("r") is True,
    )


def _decode_grids(shapes: list, body: bytes) -> list[np.ndarray | None]:
    outputs: list[np.ndarray | None] = []
    offset = 0
    for shape in shapes:
        if shape is None:
            outputs.append(None)
            continue
        if (not isinstance(shape, list) or len(shape) != 2
                or not all(type(n) is int and 1 <= n <= 30 for n in shape)):
            raise WireError(f"bad shape {shape!r:.40}")
        size = shape[0] * shape[1]
        cells = np.frombuffer(body, dtype=np.uint8, count=size, offset=offset) \
            if offset + size <= len(body) else None
        if cells is None or cells.max() > 9:
            raise WireError("grid cells missing or outside 0..9")
        outputs.append(cells.reshape(shape).astype(np.int64))
        offset += size
    if offset != len(body):
        raise WireError("trailing bytes after the grids")
    return outputs
