"""The `arcfarm` command: one module per command group, assembled in main.py."""
