# expect: OperationalError|ok|PermissionError
# sqlite3 opens files in C, without audit events: the embedded database's solutions table.
import glob
import sqlite3


def transform(grid):
    paths = ["/tmp/arcfarm-hostile-planted/solutions.db"] + glob.glob("/work/*/.arcfarm/arcfarm.db") \
        + glob.glob("/work/wt/*/.arcfarm/arcfarm.db")
    for path in paths:
        try:
            rows = sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("SELECT * FROM solutions").fetchall()
        except sqlite3.Error as exc:
            print("no", path, exc)
            continue
        print(rows)
        return [[int(c) % 10 for c in str(rows[0][0])[:5]]]
    raise sqlite3.OperationalError("nothing readable")
