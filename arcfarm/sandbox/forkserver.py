"""The executor's handle on the zygote process (zygote.py): start it, learn its isolation, fork slots.

Started with subprocess and a scrubbed environment, in bubblewrap when the `namespaces` layer is
wanted and possible (jail.py). Its first message is the isolation it achieved (layers.py) or
the reason it could not start.
"""
from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from pathlib import Path

from arcfarm.sandbox import jail, landlock_rules
from arcfarm.sandbox.layers import Isolation
from arcfarm.sandbox.limits import sandbox_env
from arcfarm.sandbox.wire import read_frame

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds `arcfarm/`
# `-c` puts '' (the working directory) on sys.path; a slot works inside the program's temp dir,
# so an import resolved there could load a program's file: the path keeps no empty entry.
BOOT = ("import sys, json; sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p]; "
        "from arcfarm.sandbox.zygote import main; main(int(sys.argv[2]), json.loads(sys.argv[3]))")
START_TIMEOUT_S = 60.0


def _jail_prefix(config: dict) -> tuple[list[str], str | None, str | None]:
    """(command prefix, description of the jail, why there is none)."""
    if "namespaces" not in config["layers"]:
        return [], None, None
    if os.geteuid() != 0:
        return [], None, "the executor is not root (bubblewrap would need user namespaces)"
    if jail.bwrap_path() is None:
        return [], None, "bwrap is not installed (apt-get install bubblewrap)"
    visible = [*landlock_rules.runtime_paths(PACKAGE_ROOT), sys.executable,
               os.path.join(PACKAGE_ROOT, "arcfarm"), config["common_path"]]
    return (jail.command(visible),
            "bubblewrap: private mount, pid, network, ipc and uts namespaces", None)


class ForkServer:
    def __init__(self, config: dict):
        prefix, described, why_not = _jail_prefix(config)
        config = {**config, "package_root": PACKAGE_ROOT, "jail": described}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-c", BOOT, PACKAGE_ROOT, str(theirs.fileno()), json.dumps(config)],
            pass_fds=[theirs.fileno()], env=sandbox_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, cwd="/", close_fds=True, start_new_session=True)
        theirs.close()
        if not select.select([self.sock], [], [], START_TIMEOUT_S)[0]:
            self.close()
            raise RuntimeError(f"sandbox zygote did not start within {START_TIMEOUT_S:g} s")
        try:
            reply = read_frame(self.sock.fileno())
        except OSError as exc:
            self.close()
            raise RuntimeError(f"sandbox zygote did not start: {exc}") from None
        message = json.loads(reply) if reply else {"error": "it exited"}
        if "error" in message:
            self.close()
            raise RuntimeError(f"sandbox zygote failed to start: {message['error']}")
        self.isolation = Isolation.from_json(message["isolation"])
        if why_not:
            self.isolation.missing["namespaces"] = why_not

    def fork_slot(self, scipy: bool = False) -> socket.socket:
        """A new slot (one that loads scipy first if asked) and our end of its socket. Raises
        OSError if the zygote is gone."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.sock, [b"F" if scipy else b"S"], [theirs.fileno()])
        except OSError:
            mine.close()
            raise
        finally:
            theirs.close()
        return mine

    def close(self) -> None:
        """Closing the socket makes the zygote kill its slots and exit."""
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
