"""The farm's database layer: models, migrations, and keyword-only query functions.

All SQL lives here. `connection.make_db_engine(url)` connects (PostgreSQL for the farm, SQLite
for embedded mode), `migrate.upgrade(url)` creates or updates the schema (the only way it is
created), `writes` holds the worker and enqueue writes, `reads` the queries behind the CLI/API,
`status` the job and run states. Importing this package connects to nothing.
"""
