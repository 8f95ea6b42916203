"""The byte formats between the executor, its slots and the program processes.

Two directions, two levels of trust:
- executor -> slot, and slot -> executor: both sides are our own code in processes that never
  run a program. Requests are pickles (code, inputs, timeout), status replies small JSON objects,
  each in a frame (4-byte big-endian length, then the payload, as multiprocessing's Connection).
- program process -> executor: the process ran untrusted code, so its bytes are plain data that
  the executor parses with bounds checks and rebuilds itself (`decode_result`), never pickles or
  objects. Each program gets a fresh pipe, read once after its process is gone: no frame of one
  program can be taken for another's.

Result layout (all integers big-endian):
    b"AFR1"                         magic and version
    u16 n                           number of grids (must equal the number of inputs)
    n times: u8 kind                0 = a grid follows, 1 = this grid failed
        grid:  u8 dtype (1 = uint8), u8 rows, u8 cols, rows*cols cell bytes
        error: text (its class)
    text error, text message, text stdout      (text = u32 length, UTF-8; 0xFFFFFFFF = None)
"""
from __future__ import annotations

import json
import os
import pickle
import struct
from dataclasses import dataclass

import numpy as np

from arcfarm.sandbox.errors import MAX_CLASS_CHARS, MAX_MESSAGE_CHARS

MAX_RESULT_BYTES = 1024 * 1024  # also the result pipe's capacity, so a result never blocks
MAX_SIDE = 30
MAGIC = b"AFR1"
UINT8 = 1
_NONE = 0xFFFFFFFF
_HEADER = struct.Struct("!I")


class WireError(ValueError):
    """Bytes from a program's process that are not a well-formed, valid result."""


# --- frames between trusted processes -------------------------------------------------------
def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def read_exact(fd: int, n: int) -> bytes | None:
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
    head = read_exact(fd, _HEADER.size)
    if head is None:
        return None
    return read_exact(fd, _HEADER.unpack(head)[0])


def encode_request(code: str, inputs: tuple[np.ndarray, ...], timeout_s: float) -> bytes:
    return pickle.dumps((code, tuple(np.asarray(g, dtype=np.int64) for g in inputs), timeout_s),
                        protocol=pickle.HIGHEST_PROTOCOL)


def decode_request(data: bytes) -> tuple[str, tuple[np.ndarray, ...], float]:
    return pickle.loads(data)


def encode_status(**fields) -> bytes:
    return json.dumps(fields).encode()


def decode_status(data: bytes) -> dict:
    return json.loads(data)


# --- results: program process -> executor -----------------------------------------------------
@dataclass
class WireResult:
    error: str | None
    message: str | None
    grid_errors: list[str | None]
    outputs: list[np.ndarray | None]
    stdout: str


def _text(value: str | None) -> bytes:
    if value is None:
        return _HEADER.pack(_NONE)
    data = value.encode("utf-8", errors="replace")
    return _HEADER.pack(len(data)) + data


def encode_result(result: WireResult) -> bytes:
    """Done inside the program's process; outputs must already be checked uint8-able grids."""
    parts = [MAGIC, struct.pack("!H", len(result.outputs))]
    for grid, error in zip(result.outputs, result.grid_errors):
        if grid is None:
            parts += [b"\x01", _text(error or "unknown")]
        else:
            rows, cols = grid.shape
            parts += [struct.pack("!BBBB", 0, UINT8, rows, cols), np.ascontiguousarray(grid, dtype=np.uint8).tobytes()]
    parts += [_text(result.error), _text(result.message), _text(result.stdout)]
    return b"".join(parts)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WireError("result ends early")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def text(self, limit: int) -> str | None:
        (size,) = _HEADER.unpack(self.take(4))
        if size == _NONE:
            return None
        if size > MAX_RESULT_BYTES:
            raise WireError("text field larger than a result may be")
        return self.take(size).decode("utf-8", errors="replace")[:limit]


def decode_result(data: bytes, n_grids: int, stdout_limit: int) -> WireResult:
    """Rebuild a result from a program process's bytes, checking every field: the right number
    of grids, sides 1..30, cells 0..9 (as uint8, so never negative), bounded strings, nothing
    after the end. Raises WireError on anything else."""
    if len(data) > MAX_RESULT_BYTES:
        raise WireError("result larger than a result may be")
    r = _Reader(data)
    if r.take(4) != MAGIC:
        raise WireError("no result header")
    (count,) = struct.unpack("!H", r.take(2))
    if count != n_grids:
        raise WireError(f"{count} grids for {n_grids} inputs")
    outputs: list[np.ndarray | None] = []
    errors: list[str | None] = []
    for _ in range(count):
        kind = r.byte()
        if kind == 1:
            outputs.append(None)
            errors.append(r.text(MAX_CLASS_CHARS) or "unknown")
            continue
        if kind != 0:
            raise WireError(f"unknown grid kind {kind}")
        dtype, rows, cols = r.byte(), r.byte(), r.byte()
        if dtype != UINT8:
            raise WireError(f"unknown grid dtype {dtype}")
        if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
            raise WireError(f"grid side outside 1..{MAX_SIDE}: {rows}x{cols}")
        cells = np.frombuffer(r.take(rows * cols), dtype=np.uint8)
        if int(cells.max()) > 9:
            raise WireError("grid cells outside 0..9")
        outputs.append(cells.reshape(rows, cols).astype(np.int64))
        errors.append(None)
    error, message, stdout = r.text(MAX_CLASS_CHARS), r.text(MAX_MESSAGE_CHARS), r.text(stdout_limit)
    if r.pos != len(data):
        raise WireError("bytes after the end of the result")
    if error is None:  # a failed grid is always the result's failure too
        error = next((e for e in errors if e is not None), None)
    return WireResult(error, message, errors, outputs, stdout or "")
