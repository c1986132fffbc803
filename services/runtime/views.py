"""Read models stored in SQLite: view rows and the tracking position change in one transaction.

A view's position is the stream sequence of the last event it applied. Applying a batch skips
events at or below that position, so a redelivered event is applied once; `reset()` empties the
view for a rebuild from sequence 1. The view also keeps the identity of the stream its position
counts in (when the stream was created), so a stream recreated under it is noticed instead of
read from the old position, and a digest of its tables, so a view whose tables changed (a new
release) is rebuilt from the log. Built on eventsourcing's SQLiteTrackingRecorder.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, Self

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteFactory, SQLiteTrackingRecorder

from contracts import Envelope


class View(Protocol):
    """What the projection runner needs from a read model."""

    def position(self) -> int: ...

    def apply(self, items: Sequence[tuple[int, Envelope]]) -> int: ...

    def reset(self) -> None: ...

    def stream_origin(self) -> str | None: ...

    def set_stream_origin(self, origin: str) -> None: ...


_ORIGIN_TABLE = "CREATE TABLE IF NOT EXISTS stream_origin (application_name TEXT PRIMARY KEY, origin TEXT)"


class SQLiteView(SQLiteTrackingRecorder):
    """Subclass with `name`, `tables` ({table: CREATE statement}) and `project(cursor, envelope, position)`."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]

    @classmethod
    def open(cls, path: Path | str) -> Self:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        view = SQLiteFactory({"SQLITE_DBNAME": str(path)}).tracking_recorder(cls)
        assert isinstance(view, cls)
        view._rebuild_if_its_tables_changed()
        view.opened()
        return view

    def opened(self) -> None:
        """Called once the view is open: load what it keeps in memory. Override."""

    def _rebuild_if_its_tables_changed(self) -> None:
        """A view kept by an older release whose tables differ is emptied, to be replayed from the log."""
        digest = zlib.crc32("\n".join(self.tables.values()).encode()) & 0x7FFFFFFF
        [row] = self.query("PRAGMA user_version")
        if row["user_version"] != digest:
            self.reset()
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(f"PRAGMA user_version = {digest}")

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), _ORIGIN_TABLE, *self.tables.values()]

    def project(self, cursor: SQLiteCursor, envelope: Envelope, position: int) -> None:
        """Write the rows `envelope` (at stream sequence `position`) changes. Override; runs inside the transaction."""
        raise NotImplementedError

    def position(self) -> int:
        return self.max_tracking_id(self.name) or 0

    def apply(self, items: Sequence[tuple[int, Envelope]]) -> int:
        """Apply the events after the current position, in order, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            current = self._max_tracking_id(self.name, cursor) or 0
            fresh = [(seq, env) for seq, env in items if seq > current]
            if not fresh:
                return 0
            for position, envelope in fresh:
                self.project(cursor, envelope, position)
            self._insert_tracking(cursor, Tracking(self.name, fresh[-1][0]))
        return len(fresh)

    def reset(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for table in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute("DELETE FROM tracking WHERE application_name = ?", (self.name,))
            cursor.execute("DELETE FROM stream_origin WHERE application_name = ?", (self.name,))
            for statement in self.tables.values():
                cursor.execute(statement)

    def stream_origin(self) -> str | None:
        """The identity of the stream the position counts in; None before the first start."""
        rows = self.query("SELECT origin FROM stream_origin WHERE application_name = ?", (self.name,))
        return str(rows[0]["origin"]) if rows else None

    def set_stream_origin(self, origin: str) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("INSERT OR REPLACE INTO stream_origin VALUES (?, ?)", (self.name, origin))

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, object]]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, tuple(params))
            return [dict(row) for row in cursor.fetchall()]
