# The Switchboard application image: the ingress, the worker and the one-shot commands
# (`docker compose run --rm worker switchboard migrate`, `… reprocess`, `… replay-check`).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /root/.cache

# Not root: the data volume (email attachments, exports) belongs to this user.
RUN useradd --system --uid 10001 --home-dir /app switchboard \
    && mkdir /data && chown switchboard /data
USER switchboard
ENV SWITCHBOARD_DATA_DIR=/data \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_WORKER_METRICS_HOST=0.0.0.0

EXPOSE 8000 9464
ENTRYPOINT ["switchboard"]
CMD ["ingress"]
