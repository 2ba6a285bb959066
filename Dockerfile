# One image for web, worker and migrate. GPU hosts: build with --build-arg TORCH_INDEX=<a CUDA wheel index>.
FROM python:3.11-slim
ARG TORCH_SPEC="torch"
WORKDIR /srv/archarena
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir "${TORCH_SPEC}" && pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["archarena", "web", "--host", "0.0.0.0", "--port", "8000"]
