# The GPU worker: `arcfarm worker --gpus all` (one solo Celery process per visible GPU).
#   docker build -f docker/worker.Dockerfile -t arcfarm-worker .
#   docker run --gpus all -e ARCFARM_DATABASE_URL=... -e ARCFARM_BROKER_URL=... arcfarm-worker
# CUDA 12.8 runtime; torch's cu128 wheel brings its own cuDNN/NCCL. Written for this repo but
# not built here (no Docker engine on the development machine).
FROM nvidia/cuda:12.8.1-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/models/hf

# gcc and the Python headers: torch.compile (the fast engine's decode step) builds Triton's
# launcher and Inductor's helpers at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev gcc \
       tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch for CUDA first (the layer that changes least), then the project.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cu128

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY arcfarm ./arcfarm
COPY migrations ./migrations
COPY configs ./configs
# The learn extra (trl): a worker started with `-Q train` runs `arcfarm learn` trainings; the liger
# extra: Liger Kernel, which the GPU trainer uses by default where it is installed (train_kernels).
RUN pip install ".[learn,liger]"

# Generated programs run in the sandbox as this user, never as root (RLIMIT_NPROC needs it).
RUN useradd --create-home --uid 1000 arcfarm && mkdir -p /models /artifacts \
    && chown arcfarm:arcfarm /models /artifacts
USER arcfarm

# tini forwards SIGTERM to the supervisor, which stops jobs at an epoch boundary and requeues
# them; give it time (compose: stop_grace_period).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["arcfarm", "worker", "--gpus", "all", "--queue", "arcfarm"]
