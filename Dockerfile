# One image for web, worker and migrate, in production mode (docker-compose.yml sets the rest).
# torch comes from PyPI by default (on Linux that is its CUDA build); to take it from another wheel index, e.g. a
# CPU-only host or a particular CUDA version, build with:
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
FROM python:3.11-slim
ARG TORCH_INDEX_URL=""
WORKDIR /srv/archarena
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ARCHARENA_MODE=production ARCHARENA_DATA_DIR=/data
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" torch; \
    else pip install --no-cache-dir torch; fi \
    && pip install --no-cache-dir -e .
# Everything runs as an unprivileged user; /data (the datasets volume) is created here so that a new named volume
# starts out owned by that user.
RUN useradd --system --uid 10001 --home-dir /srv/archarena --shell /usr/sbin/nologin archarena \
    && mkdir -p /data && chown archarena:archarena /data
USER archarena
EXPOSE 8000
CMD ["archarena", "web", "--host", "0.0.0.0", "--port", "8000"]
