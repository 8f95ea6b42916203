# expect: killed|ok
# Replace modules the sandbox's own code uses after the program (struct, numpy) in sys.modules.
import sys
import types

fake = types.ModuleType("struct")
fake.pack = lambda *a: b"FORGED"
sys.modules["struct"] = fake
for name in list(sys.modules):
    if name.endswith("sandbox.wire"):
        sys.modules[name].MAGIC = b"EVIL"


def transform(grid):
    return grid
