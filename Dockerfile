# syntax=docker/dockerfile:1
# taskbridge's image: the locked dependencies (no development ones) and `taskbridge serve` on
# port 8000, as an unprivileged user. compose.yaml runs it as the API servers, the dispatcher and
# the one-shot migration; settings come from the environment (deploy/taskbridge.env.example).
#
#   docker build -t taskbridge .
#   docker run --rm -p 127.0.0.1:8000:8000 --env-file deploy/taskbridge.env taskbridge
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

# uv from PyPI (the version make uses), and the user the processes run as.
RUN pip install --no-cache-dir uv==0.13.9 \
 && useradd --system --user-group --uid 10001 --home-dir /var/lib/taskbridge --create-home \
        --shell /usr/sbin/nologin taskbridge

WORKDIR /opt/taskbridge
# The dependencies first: this layer is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

ENV PATH=/opt/taskbridge/.venv/bin:$PATH \
    TASKBRIDGE_DATA_DIR=/var/lib/taskbridge
USER taskbridge
WORKDIR /var/lib/taskbridge
EXPOSE 8000

# Liveness only (no database: restarting a server does not cure a database outage); compose.yaml
# probes readiness, /readyz, for its servers. The slim image has no curl: Python asks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

CMD ["taskbridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
