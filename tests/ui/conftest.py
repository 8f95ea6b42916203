"""The browser-test fixtures (tests/ui/ui_fixtures.py)."""
from ui_fixtures import *  # noqa: F401,F403
