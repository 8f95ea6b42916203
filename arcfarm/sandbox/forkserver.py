"""The executor's handle on the fork server process (zygote.py): start it, fork workers, stop it."""
from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
from multiprocessing.connection import Connection, Pipe
from pathlib import Path

from arcfarm.sandbox.limits import sandbox_env

PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the folder that holds `arcfarm/`
BOOT = ("import sys, json; sys.path.insert(0, sys.argv[1]); "
        "from arcfarm.sandbox.zygote import main; main(int(sys.argv[2]), json.loads(sys.argv[3]))")
START_TIMEOUT_S = 60.0
FORK_TIMEOUT_S = 10.0


class ForkServer:
    def __init__(self, common_path: str, memory_mb: int, stdout_limit: int):
        self.config = {"common_path": common_path, "memory_mb": memory_mb, "stdout_limit": stdout_limit}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, PACKAGE_ROOT, str(theirs.fileno()), json.dumps(self.config)],
            pass_fds=[theirs.fileno()], env=sandbox_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, cwd="/", close_fds=True)
        theirs.close()
        self.sock.settimeout(START_TIMEOUT_S)
        try:
            reply = self.sock.recv(4096)
        except OSError as exc:
            self.close()
            raise RuntimeError(f"sandbox fork server did not start: {exc}") from None
        if reply != b"R":
            self.close()
            why = reply[1:].decode(errors="replace") if reply else "it exited"
            raise RuntimeError(f"sandbox fork server failed to start: {why}")
        self.sock.settimeout(FORK_TIMEOUT_S)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self) -> tuple[int, Connection]:
        """A new worker: its pid and our end of its pipe. Raises OSError if the server is gone."""
        mine, theirs = Pipe(duplex=True)
        try:
            socket.send_fds(self.sock, [b"F"], [theirs.fileno()])
        finally:
            theirs.close()
        reply = b""
        while len(reply) < 8:
            chunk = self.sock.recv(8 - len(reply))
            if not chunk:
                raise OSError("sandbox fork server exited")
            reply += chunk
        return struct.unpack("!q", reply)[0], mine

    def close(self) -> None:
        """Closing the socket makes the server kill its workers and exit."""
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
