# syntax=docker/dockerfile:1
# Build stage: everything that installs; the final stage gets only the finished venv.
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# The pinned, hash-checked dependencies first (their own layer), then the project alone.
COPY requirements/service.txt ./requirements/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/service.txt
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY src ./src
RUN /opt/venv/bin/pip install --no-deps . && /opt/venv/bin/pip check

FROM python:3.12-slim
RUN useradd --system --uid 10001 --create-home --home-dir /app app \
 && mkdir -p /app/data && chown app:app /app/data
COPY --from=build /opt/venv /opt/venv
# Production always: without JWT_SECRET_KEY the container exits with one line saying so,
# instead of serving the public development secret and the demo login on 0.0.0.0.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SHAREMYSHOWS_ENV=production \
    DATABASE_URL=sqlite+aiosqlite:////app/data/sharemyshows_rt.db
WORKDIR /app
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["sharemyshows-rt", "serve", "--host", "0.0.0.0"]
