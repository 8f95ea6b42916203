"""The farm fixtures (tests/farm_fixtures.py): a throwaway PostgreSQL database, Redis db."""
from farm_fixtures import *  # noqa: F401,F403
