# Omni ingest: one image for the migrate, worker, scheduler and dashboard services.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # scrapy-playwright renders JavaScript with Debian's Chromium, not a downloaded one
    OMNI_CHROMIUM_PATH=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    OMNI_DATA_DIR=/home/omni/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first (cached while only the code changes): CPU-only torch, then the project.
COPY pyproject.toml README.md ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2"
COPY core ./core
COPY content ./content
COPY interfaces ./interfaces
COPY db ./db
COPY crawlers ./crawlers
COPY pipelines ./pipelines
COPY workers ./workers
COPY schemas ./schemas
COPY dashboard ./dashboard
RUN pip install .

RUN useradd --create-home --uid 10001 omni && mkdir -p /home/omni/data && chown -R omni /home/omni
USER omni

EXPOSE 8000 9191
CMD ["omni", "--help"]
