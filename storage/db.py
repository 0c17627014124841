"""The SQLite connection (WAL) and the schema, versioned with `PRAGMA user_version`."""

from __future__ import annotations

import logging
from pathlib import Path

import aiosqlite

logger = logging.getLogger(__name__)

# Each entry moves the schema one version up; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        prompt TEXT NOT NULL,
        aspect TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        reference_media_id TEXT,
        source_path TEXT,
        reply_to_message_id INTEGER,
        language TEXT NOT NULL DEFAULT 'en',
        account TEXT NOT NULL DEFAULT 'default',
        provider TEXT NOT NULL DEFAULT 'flow',
        task_id TEXT,
        render TEXT,
        media_id TEXT,
        result_url TEXT,
        file_path TEXT,
        progress_message_id INTEGER,
        render_started_at REAL,
        finished_at REAL,
        error_code TEXT,
        error_detail TEXT
    );
    CREATE INDEX jobs_by_user ON jobs (user_id, id);
    CREATE INDEX jobs_by_state ON jobs (state);
    CREATE TABLE images (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        media_id TEXT NOT NULL,
        owner_id INTEGER NOT NULL,
        job_id INTEGER,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    """,
    """
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        owner_id INTEGER,
        bearer_token TEXT,
        bearer_expires_at REAL,
        cookie TEXT,
        project_id TEXT,
        proxy_token TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE access (
        user_id INTEGER PRIMARY KEY,
        allowed INTEGER NOT NULL,
        changed_by INTEGER,
        changed_at REAL NOT NULL
    );
    """,
    """
    ALTER TABLE jobs ADD COLUMN options TEXT;
    """,
    """
    ALTER TABLE jobs ADD COLUMN extra_images TEXT;
    ALTER TABLE jobs ADD COLUMN image_role TEXT NOT NULL DEFAULT 'frames';
    """,
    """
    CREATE TABLE album_photos (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        media_group_id TEXT NOT NULL,
        file_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX album_photos_by_group ON album_photos (chat_id, media_group_id, message_id);
    """,
    # The outbox: what a job's owner is owed, how often its result was handed over, and the
    # update that asked for it (one job per update); see README, "Reliability".
    """
    ALTER TABLE jobs ADD COLUMN update_id INTEGER;
    CREATE UNIQUE INDEX jobs_by_update ON jobs (update_id);
    ALTER TABLE jobs ADD COLUMN word_owed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_owing ON jobs (word_owed) WHERE word_owed = 1;
    ALTER TABLE jobs ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0;
    """,
    # The inbox: updates stored before Telegram is told they arrived.
    """
    CREATE TABLE inbox (
        update_id INTEGER PRIMARY KEY,
        payload TEXT,
        received_at REAL NOT NULL,
        handled_at REAL
    );
    CREATE INDEX inbox_pending ON inbox (update_id) WHERE handled_at IS NULL;
    """,
    # The account's credit balance the upstream reported with a finished render (useapi.net's
    # `remainingCredits`), shown in the done message.
    """
    ALTER TABLE jobs ADD COLUMN remaining_credits INTEGER;
    """,
    # The provider a job began on, when it moved to FALLBACK_PROVIDER before any charge.
    """
    ALTER TABLE jobs ADD COLUMN first_provider TEXT;
    """,
    # A job's own model (from the user's /settings), the result it was made from and the button
    # that made it: one unfinished job per parent and button, so a double tap makes one job.
    # Each user's defaults from /settings.
    """
    ALTER TABLE jobs ADD COLUMN model TEXT;
    ALTER TABLE jobs ADD COLUMN parent_id INTEGER;
    ALTER TABLE jobs ADD COLUMN origin TEXT;
    CREATE UNIQUE INDEX jobs_one_per_button ON jobs (parent_id, origin)
        WHERE origin IS NOT NULL
        AND state NOT IN ('delivered', 'failed', 'cancelled');
    CREATE TABLE user_settings (
        user_id INTEGER PRIMARY KEY,
        aspect TEXT,
        video_model TEXT,
        duration INTEGER,
        resolution TEXT,
        language TEXT,
        updated_at REAL NOT NULL
    );
    """,
    # The question "how should it go on?" under a video's Extend button: a reply to it extends
    # that video, after a restart too.
    """
    CREATE TABLE asks (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        owner_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    """,
)


async def connect(path: Path) -> aiosqlite.Connection:
    """Open (creating folders), switch to WAL and bring the schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA foreign_keys=ON")
    await migrate(db)
    return db


async def migrate(db: aiosqlite.Connection) -> int:
    """Apply every migration above the stored `user_version`; return the new version."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        logger.info("database schema migrated to version %d", number)
    return len(MIGRATIONS)
