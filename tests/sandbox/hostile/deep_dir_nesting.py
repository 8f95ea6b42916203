# expect: ok|timeout|OSError
# Leave a directory tree thousands of levels deep (and some read-only dirs) in the temp dir, so
# that emptying it (recursive removal, path lengths) fails: the next program must still get a
# clean, empty temp dir, and the slot must live on.
import os


def transform(grid):
    os.mkdir("ro")
    open("ro/file", "w").close()
    try:
        os.chmod("ro", 0o500)  # seccomp refuses chmod; without that layer "ro" is read-only
    except PermissionError:
        pass
    for _ in range(20_000):
        os.mkdir("d")
        os.chdir("d")
    return grid
