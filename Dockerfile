# veo-bot: the Telegram bot (long polling). Configure it with environment variables, e.g.
#   docker build -t veo-bot .
#   docker run -d --name veo-bot --env-file .env -v veo-bot-data:/app/data veo-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

WORKDIR /app

# An unprivileged user that owns only the data directory.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin bot

# README.md is the package's readme in pyproject.toml, so the build needs it.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/data \
    && chown bot:bot /app/data

# The job database (and results waiting for delivery in data/files) must survive restarts.
ENV DATABASE_PATH=/app/data/bot.sqlite3
VOLUME ["/app/data"]

USER bot

CMD ["python", "-m", "bot"]
