# The API (and the one-shot migration, and `arcfarm submit/status/export/reconcile`): no GPU.
#   docker build -f docker/api.Dockerfile -t arcfarm-api .
# The CPU torch wheel keeps the image small (the API never loads a model). Not built here.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY arcfarm ./arcfarm
COPY migrations ./migrations
COPY configs ./configs
COPY docker/prestart.sh /usr/local/bin/arcfarm-prestart
RUN pip install . && chmod 0755 /usr/local/bin/arcfarm-prestart \
    && useradd --create-home --uid 1000 arcfarm
USER arcfarm

EXPOSE 8000
CMD ["arcfarm", "api", "--host", "0.0.0.0", "--port", "8000"]
