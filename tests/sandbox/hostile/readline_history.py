# expect: ok|PermissionError|OSError|ImportError|ModuleNotFoundError|FileNotFoundError
# readline reads and writes history files in C: read the planted marker, write a canary.
def transform(grid):
    import readline
    readline.read_history_file("/tmp/arcfarm-hostile-planted/marker.txt")
    print([readline.get_history_item(i) for i in range(1, readline.get_current_history_length() + 1)])
    readline.write_history_file("/tmp/arcfarm-hostile-readline.txt")
    return grid
