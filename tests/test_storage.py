"""SQLite storage on a real file: migrations, WAL, jobs and image references round-trip."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.jobs.model import Aspect, Job, JobKind, JobState, NewJob, ProviderName
from storage import images as images_module
from storage.db import MIGRATIONS, connect, migrate
from storage.images import ImageRef, ImageStore
from storage.jobs import JobStore

RENDER = [{"operation": {"name": "op-1"}, "sceneId": "scene-1",
           "status": "MEDIA_GENERATION_STATUS_PENDING", "nested": {"n": [1, 2.5, None, True]}}]


class Tick:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await connect(tmp_path / "data" / "bot.sqlite3")
    yield connection
    await connection.close()


@pytest.fixture
def clock() -> Tick:
    return Tick()


@pytest.fixture
def jobs(db: aiosqlite.Connection, clock: Tick) -> JobStore:
    return JobStore(db, clock=clock)


async def scalar(db: aiosqlite.Connection, sql: str) -> object:
    async with db.execute(sql) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


def new(user_id: int = 1, **kwargs: object) -> NewJob:
    values: dict[str, object] = {"chat_id": user_id, "kind": JobKind.VIDEO, "prompt": "a dog"}
    values.update(kwargs)
    return NewJob(user_id=user_id, **values)  # type: ignore[arg-type]


async def test_connect_creates_the_folder_and_sets_user_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "bot.sqlite3"
    db = await connect(path)
    try:
        assert path.exists()
        assert await scalar(db, "PRAGMA user_version") == len(MIGRATIONS)
    finally:
        await db.close()


async def test_connect_switches_to_wal(db: aiosqlite.Connection) -> None:
    assert await scalar(db, "PRAGMA journal_mode") == "wal"


async def test_migrate_creates_the_tables(db: aiosqlite.Connection) -> None:
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        names = {row[0] for row in await cursor.fetchall()}
    assert {"jobs", "images"} <= names


async def test_migrating_twice_is_a_no_op(db: aiosqlite.Connection, jobs: JobStore) -> None:
    await jobs.add(new())
    schema_before = await scalar(db, "SELECT group_concat(sql, ';') FROM sqlite_master")
    assert await migrate(db) == len(MIGRATIONS)
    assert await migrate(db) == len(MIGRATIONS)
    assert await scalar(db, "PRAGMA user_version") == len(MIGRATIONS)
    assert await scalar(db, "SELECT group_concat(sql, ';') FROM sqlite_master") == schema_before
    assert await scalar(db, "SELECT count(*) FROM jobs") == 1


async def test_reopening_a_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await connect(path)
    job = await JobStore(first).add(new(prompt="kept"))
    await first.close()
    second = await connect(path)
    try:
        assert (await JobStore(second).get(job.id)).prompt == "kept"
        assert await scalar(second, "PRAGMA user_version") == len(MIGRATIONS)
    finally:
        await second.close()


async def test_migrate_brings_an_empty_database_to_the_last_version(tmp_path: Path) -> None:
    db = await aiosqlite.connect(tmp_path / "plain.sqlite3")
    try:
        assert await scalar(db, "PRAGMA user_version") == 0
        assert await migrate(db) == len(MIGRATIONS)
        assert await scalar(db, "PRAGMA user_version") == len(MIGRATIONS)
    finally:
        await db.close()


async def test_add_returns_a_queued_job_with_every_field(jobs: JobStore, clock: Tick) -> None:
    job = await jobs.add(NewJob(
        user_id=7, chat_id=-100, kind=JobKind.ANIMATE, prompt="walks slowly",
        aspect=Aspect.PORTRAIT, reference_media_id="CAMSJD", source_path="/tmp/p.jpg",
        reply_to_message_id=55, language="vi", account="second", provider=ProviderName.FLOW))
    assert job == Job(
        id=job.id, user_id=7, chat_id=-100, kind=JobKind.ANIMATE, prompt="walks slowly",
        aspect=Aspect.PORTRAIT, state=JobState.QUEUED, created_at=clock.now,
        updated_at=clock.now, reference_media_id="CAMSJD", source_path="/tmp/p.jpg",
        reply_to_message_id=55, language="vi", account="second", provider=ProviderName.FLOW)
    assert job.kind is JobKind.ANIMATE and job.aspect is Aspect.PORTRAIT
    assert job.state is JobState.QUEUED


async def test_add_gives_increasing_ids(jobs: JobStore) -> None:
    first, second = await jobs.add(new()), await jobs.add(new())
    assert second.id > first.id


async def test_get_of_a_missing_job_raises_key_error(jobs: JobStore) -> None:
    with pytest.raises(KeyError):
        await jobs.get(404)


async def test_find_of_a_missing_job_is_none(jobs: JobStore) -> None:
    assert await jobs.find(404) is None


async def test_update_round_trips_render_json_and_enums(jobs: JobStore, clock: Tick) -> None:
    job = await jobs.add(new())
    updated = await jobs.update(job, state=JobState.RENDERING, task_id="task-1", render=RENDER,
                                render_started_at=123.5)
    stored = await jobs.get(job.id)
    assert stored == updated
    assert stored.render == RENDER
    assert stored.state is JobState.RENDERING
    assert stored.updated_at == clock.now > job.updated_at
    assert stored.created_at == job.created_at


async def test_render_is_stored_as_json_text(db: aiosqlite.Connection, jobs: JobStore) -> None:
    job = await jobs.add(new())
    await jobs.update(job, render=RENDER)
    raw = await scalar(db, f"SELECT render FROM jobs WHERE id = {job.id}")
    assert isinstance(raw, str) and raw.startswith('[{"operation"')


async def test_update_can_clear_fields(jobs: JobStore) -> None:
    job = await jobs.add(new())
    job = await jobs.update(job, render=RENDER, file_path="/x.mp4", error_code="timeout")
    await jobs.update(job, render=None, file_path=None, error_code=None)
    stored = await jobs.get(job.id)
    assert (stored.render, stored.file_path, stored.error_code) == (None, None, None)


async def test_update_touches_only_the_given_job(jobs: JobStore) -> None:
    one, two = await jobs.add(new()), await jobs.add(new())
    await jobs.update(one, state=JobState.FAILED, error_code="unsafe", error_detail="no")
    assert (await jobs.get(two.id)).state is JobState.QUEUED
    assert (await jobs.get(two.id)).error_code is None


async def test_unfinished_lists_every_non_terminal_job_in_id_order(jobs: JobStore) -> None:
    by_state: dict[JobState, int] = {}
    for state in JobState:
        job = await jobs.add(new())
        await jobs.update(job, state=state)
        by_state[state] = job.id
    unfinished = await jobs.unfinished()
    assert [job.id for job in unfinished] == sorted(
        job_id for state, job_id in by_state.items() if not state.terminal)
    assert {job.state for job in unfinished} == {
        JobState.QUEUED, JobState.SUBMITTING, JobState.SUBMITTED, JobState.RENDERING,
        JobState.DOWNLOADED, JobState.WAITING_FOR_TOKEN}


async def test_for_user_lists_only_that_users_jobs_newest_first(jobs: JobStore) -> None:
    mine = [await jobs.add(new(1, prompt=f"p{i}")) for i in range(4)]
    await jobs.add(new(2))
    listed = await jobs.for_user(1)
    assert [job.id for job in listed] == [job.id for job in reversed(mine)]


async def test_for_user_respects_the_limit(jobs: JobStore) -> None:
    made = [await jobs.add(new(1)) for _ in range(5)]
    assert [job.id for job in await jobs.for_user(1, limit=2)] == [made[4].id, made[3].id]


async def test_for_user_of_a_stranger_is_empty(jobs: JobStore) -> None:
    await jobs.add(new(1))
    assert await jobs.for_user(99) == []


async def test_image_lookup_returns_what_was_remembered(db: aiosqlite.Connection) -> None:
    store = ImageStore(db)
    await store.remember(chat_id=-5, message_id=10, media_id="CAM1", owner_id=7, job_id=3)
    assert await store.lookup(-5, 10) == ImageRef(-5, 10, "CAM1", 7, 3)


async def test_image_lookup_of_an_unknown_message_is_none(db: aiosqlite.Connection) -> None:
    store = ImageStore(db)
    await store.remember(chat_id=1, message_id=10, media_id="CAM1", owner_id=7)
    assert await store.lookup(1, 11) is None
    assert await store.lookup(2, 10) is None


async def test_image_job_id_is_optional(db: aiosqlite.Connection) -> None:
    store = ImageStore(db)
    await store.remember(chat_id=1, message_id=10, media_id="CAM1", owner_id=7)
    ref = await store.lookup(1, 10)
    assert ref is not None and ref.job_id is None


async def test_remembering_the_same_message_again_replaces_it(db: aiosqlite.Connection) -> None:
    store = ImageStore(db)
    await store.remember(chat_id=1, message_id=10, media_id="OLD", owner_id=7, job_id=1)
    await store.remember(chat_id=1, message_id=10, media_id="NEW", owner_id=8, job_id=2)
    assert await store.lookup(1, 10) == ImageRef(1, 10, "NEW", 8, 2)
    assert await scalar(db, "SELECT count(*) FROM images") == 1


async def test_by_job_returns_the_first_image_of_the_job(
        db: aiosqlite.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images_module, "time", types.SimpleNamespace(time=Tick()))
    store = ImageStore(db)
    await store.remember(chat_id=1, message_id=20, media_id="FIRST", owner_id=7, job_id=4)
    await store.remember(chat_id=1, message_id=21, media_id="SECOND", owner_id=7, job_id=4)
    await store.remember(chat_id=1, message_id=22, media_id="OTHER", owner_id=7, job_id=5)
    ref = await store.by_job(4)
    assert ref is not None and ref.media_id == "FIRST"
    assert await store.by_job(6) is None


async def test_images_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await connect(path)
    await ImageStore(first).remember(chat_id=1, message_id=2, media_id="CAM", owner_id=3)
    await first.close()
    second = await connect(path)
    try:
        assert await ImageStore(second).lookup(1, 2) == ImageRef(1, 2, "CAM", 3, None)
    finally:
        await second.close()
