# veo-bot: the Telegram bot (long polling). Configure it with environment variables, e.g.
#   docker build -t veo-bot .
#   docker run -d --name veo-bot --env-file .env -v veo-bot-data:/app/data veo-bot
#   docker exec veo-bot python -m bot doctor        # every check, with the fix of each failure
# or with Docker Compose: compose.example.yaml.
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

# `doctor --liveness` (bot/health.py): valid settings, a writable database, Telegram accepts the
# token with no webhook in the way, and PROVIDER's upstream still takes the credentials. GETs
# only, never a generation or a credit; secrets masked in what `docker inspect` shows. Three
# failures in a row (about six minutes) make the container unhealthy, so one blip does not.
# Each call waits at most 10 s; the slowest chain (flow's token renewal) is three calls.
HEALTHCHECK --interval=2m --timeout=60s --start-period=1m --retries=3 \
    CMD ["python", "-m", "bot", "doctor", "--liveness", "--timeout", "10"]

CMD ["python", "-m", "bot"]
