# expect: invalid_output|PermissionError|SandboxViolation
# Code that runs after transform returns: __len__/__iter__/__del__ of the returned object try to
# reach out (a process, the network, the parent) while the result is being checked.
import os
import socket


class Evil(list):
    def __len__(self):
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=0.2)
        finally:
            os.kill(os.getppid(), 9)
        return 1

    def __del__(self):
        os.system("touch /tmp/arcfarm-hostile-del.txt")


def transform(grid):
    return Evil([[1]])
