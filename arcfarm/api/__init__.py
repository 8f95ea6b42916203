"""The HTTP API (FastAPI): `create_app` in main.py, one router per resource in routes/."""
