"""The cache index: one SQLite database (WAL) shared by every process using a cache root.

Tables:
- ``objects``: every published file (digest, suffix, size).
- ``variants``: one row per cached variant: its set key and index, what made it, the
  metadata JSON, the digests of its audio and MIDI files, size and times.
- ``pins``: sets that eviction must keep, per owner (a session, a bake); a pin held by a
  process records its pid and is dropped once that process is gone.
- ``claims``: sets a process is generating right now, so another process waits for
  them instead of making them twice (a claim of a dead process is void).
- ``scores``: the composer's score each variant was arranged from (a JSON object file per
  variant, `Score.to_json`); optional: a variant without a row simply has no score kept
  (written by an older version, or by an engine that does not compose). Bridges read
  them instead of composing their states' loops again.
- ``engines``: engine keys recorded by processes that loaded the engine, by fingerprint
  (see `middleware.cache.engine`), so a warm start need not load the model.

Writes run in ``BEGIN IMMEDIATE`` transactions (one writer at a time across processes);
readers never block writers (WAL).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from middleware.cache.errors import CacheError

#: Tables added later are additive (`CREATE TABLE IF NOT EXISTS`, e.g. ``scores``): an
#: existing index gains them when opened, so the version stays.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    digest TEXT PRIMARY KEY,
    suffix TEXT NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS variants (
    variant_key TEXT PRIMARY KEY,
    set_key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    generation_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    engine_version TEXT NOT NULL,
    weights_version TEXT NOT NULL,
    stems_json TEXT NOT NULL,
    audio_digest TEXT NOT NULL,
    midi_digest TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS variants_set ON variants (set_key, idx);
CREATE INDEX IF NOT EXISTS variants_audio ON variants (audio_digest);
CREATE INDEX IF NOT EXISTS variants_midi ON variants (midi_digest);
CREATE INDEX IF NOT EXISTS variants_used ON variants (last_used_at);
CREATE TABLE IF NOT EXISTS scores (
    variant_key TEXT PRIMARY KEY,
    set_key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scores_set ON scores (set_key, idx);
CREATE INDEX IF NOT EXISTS scores_digest ON scores (digest);
CREATE TABLE IF NOT EXISTS engines (
    fingerprint TEXT PRIMARY KEY,
    key_json TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    set_key TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    claimed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
    set_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    pid INTEGER,
    created_at REAL NOT NULL,
    PRIMARY KEY (set_key, owner)
);
"""


def _enter_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch a (possibly brand-new) index to WAL, waiting for other processes doing the same.

    Two processes opening a new index at once can meet in a lock SQLite reports at once as
    "database is locked" (its busy handler is skipped when waiting could deadlock), so the
    switch is retried until `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class Index:
    """A connection to a cache root's index, safe to share between threads of one process."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            _enter_wal(self._conn, busy_timeout_s)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=OFF")
            with self.write() as conn:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO meta (name, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
                    )
                elif int(row[0]) != SCHEMA_VERSION:
                    raise CacheError(
                        f"cache index {str(path)!r} has schema {row[0]}, expected "
                        f"{SCHEMA_VERSION}; clear the cache (`ostinato cache clear`)",
                        {"path": str(path), "schema": row[0]},
                    )
        except sqlite3.DatabaseError as error:
            raise CacheError(
                f"cannot open cache index {str(path)!r}: {error}", {"path": str(path)}
            ) from error

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): commits on success, rolls back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several queries (``BEGIN DEFERRED``)."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:  # type: ignore[type-arg]
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
