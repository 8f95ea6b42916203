"""`python -m arcfarm.cli ...` is the `arcfarm` command."""
from arcfarm.cli.main import app

app()
