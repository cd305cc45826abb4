# wirewatch worker image: `docker build -t wirewatch .`
#   docker run --rm -e DATABASE_URL=postgres://... wirewatch wirewatch migrate
#   docker run -d  -e DATABASE_URL=postgres://... wirewatch
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WIREWATCH_DATA_DIR=/data \
    WIREWATCH_CONFIG=/app/config

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY pipeline ./pipeline
COPY alembic ./alembic
COPY config ./config
RUN pip install . \
    && useradd --system --home-dir /data --create-home wirewatch

USER wirewatch
VOLUME ["/data"]
CMD ["wirewatch", "--log-format", "json", "worker"]
