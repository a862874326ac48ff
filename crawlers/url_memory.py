"""The crawl's URL memory, bounded: a map (`UrlMap`) and a set (`UrlSet`) keyed by URL that hold
everything in memory up to `bound` entries and, past it, move to a table of one SQLite file
(`UrlMemory`, shared by the maps and sets of one crawl), keeping only the `bound` most recently
used entries in memory in front of it. A big site's URL memory (`CrawlState.known`, `seen`,
`stored`, `statuses`, `known_links`, the content hashes) so costs disk past the bound, not RSS;
a small site never touches the disk.

The file lives where the frontier's disk queue does (`crawlers/scheduler.py`): a private
temporary directory (under `TMPDIR`), removed when the crawl ends (`UrlMemory.close`, and a
finaliser should the process end without it). Nothing in it is meant to survive the process.

Semantics are those of a dict and a set, iteration order included (the order of first
insertion: a key set again keeps its place, as in a dict). One difference matters: a value
read back from disk is a copy (pickled), so a value changed in place after it was stored is
not changed in the map. Store it again instead; the crawl's values (`KnownPage`, lists of link
targets, statuses) are never changed in place.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, MutableMapping, MutableSet
from pathlib import Path
from typing import Any

FLUSH_EVERY = 512  # writes past the bound are batched; lookups see the batch
READ_CHUNK = 1000  # rows per query when iterating a spilled table
_MISSING = object()


class UrlMemory:
    """The SQLite file behind one crawl's maps and sets, made on the first spill."""

    def __init__(self, bound: int) -> None:
        self.bound = max(1, bound)
        self.directory: Path | None = None
        self.lock = threading.RLock()  # pipelines write from a thread pool now and then
        self._db: sqlite3.Connection | None = None
        self._finalizer: weakref.finalize | None = None
        self._tables = 0

    def map(self) -> UrlMap:
        return UrlMap(self)

    def set(self, items: Iterable[str] = ()) -> UrlSet:
        urls = UrlSet(self)
        urls |= items
        return urls

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def db(self) -> sqlite3.Connection:
        if self._db is None:
            directory = tempfile.mkdtemp(prefix="omni-urls-")
            self.directory = Path(directory)
            db = sqlite3.connect(self.directory / "urls.sqlite", check_same_thread=False)
            # a scratch file: no journal, no fsync; a small page cache (the point is RSS)
            db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            db.execute("PRAGMA cache_size = -8000")
            self._db = db
            self._finalizer = weakref.finalize(self, _remove, db, directory)
        return self._db

    def new_table(self) -> str:
        self._tables += 1
        name = f"t{self._tables}"
        self.db().execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, value BLOB)")
        return name

    def close(self) -> None:
        """Closes and removes the file (nothing to do if nothing spilled). The maps and sets
        must not be used afterwards."""
        if self._finalizer is not None:
            self._finalizer()
        self._db = None


def _remove(db: sqlite3.Connection, directory: str) -> None:
    db.close()
    shutil.rmtree(directory, ignore_errors=True)


class _Spilling:
    """What a map and a set share: memory up to the bound, then a table with an LRU front and a
    batch of unwritten entries (`_dirty`, looked up before the table)."""

    def __init__(self, memory: UrlMemory) -> None:
        self.memory = memory
        self._mem: dict[str, Any] = {}  # everything, until the bound; then the LRU front
        self._dirty: dict[str, Any] = {}
        self._table: str | None = None

    @property
    def spilled(self) -> bool:
        return self._table is not None

    def _encode(self, value: Any) -> Any:
        return None

    def _decode(self, blob: Any) -> Any:
        return None

    def _lookup(self, key: str) -> Any:
        """The value, or _MISSING."""
        value = self._mem.get(key, _MISSING)
        if self._table is None:
            return value
        if value is not _MISSING:
            self._mem.move_to_end(key)  # type: ignore[attr-defined]  # an OrderedDict front
            return value
        value = self._dirty.get(key, _MISSING)
        if value is _MISSING:
            with self.memory.lock:
                row = (
                    self.memory.db()
                    .execute(f"SELECT value FROM {self._table} WHERE key = ?", (key,))
                    .fetchone()
                )
            if row is None:
                return _MISSING
            value = self._decode(row[0])
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: Any) -> None:
        front = self._mem
        front[key] = value
        front.move_to_end(key)  # type: ignore[attr-defined]  # an OrderedDict front
        if len(front) > self.memory.bound:
            front.popitem(last=False)  # type: ignore[call-arg]  # OrderedDict.popitem(last=)

    def _store(self, key: str, value: Any) -> None:
        if self._table is None:
            self._mem[key] = value
            if len(self._mem) > self.memory.bound:
                self._spill()
            return
        self._remember(key, value)
        self._dirty[key] = value
        if len(self._dirty) >= FLUSH_EVERY:
            self._flush()

    def _spill(self) -> None:
        """Past the bound: everything into the table, the most recent `bound` entries kept."""
        with self.memory.lock:
            self._table = self.memory.new_table()
        entries, self._dirty = self._mem, self._mem
        self._flush()
        self._mem = OrderedDict(list(entries.items())[-self.memory.bound :])

    def _flush(self) -> None:
        if not self._dirty:
            return
        rows = [(key, self._encode(value)) for key, value in self._dirty.items()]
        self._dirty = {}
        with self.memory.lock:
            # an upsert keeps a key's rowid, so iteration keeps the order of first insertion
            self.memory.db().executemany(
                f"INSERT INTO {self._table} (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )

    def _delete(self, key: str) -> bool:
        if self._table is None:
            return self._mem.pop(key, _MISSING) is not _MISSING
        present = self._lookup(key) is not _MISSING
        self._mem.pop(key, None)
        self._dirty.pop(key, None)
        with self.memory.lock:
            self.memory.db().execute(f"DELETE FROM {self._table} WHERE key = ?", (key,))
        return present

    def _rows(self) -> Iterator[tuple[str, Any]]:
        """(key, value) in the order of first insertion, read in chunks (the crawl may write to
        other tables meanwhile)."""
        if self._table is None:
            yield from list(self._mem.items())
            return
        self._flush()
        last = 0
        while True:
            with self.memory.lock:
                chunk = (
                    self.memory.db()
                    .execute(
                        f"SELECT rowid, key, value FROM {self._table} WHERE rowid > ? "
                        "ORDER BY rowid LIMIT ?",
                        (last, READ_CHUNK),
                    )
                    .fetchall()
                )
            if not chunk:
                return
            for rowid, key, blob in chunk:
                last = rowid
                yield key, self._decode(blob)

    def __len__(self) -> int:
        if self._table is None:
            return len(self._mem)
        self._flush()
        with self.memory.lock:
            return self.memory.db().execute(f"SELECT count(*) FROM {self._table}").fetchone()[0]

    def __bool__(self) -> bool:
        return bool(self._mem) or (self._table is not None and len(self) > 0)


class UrlMap(_Spilling, MutableMapping[str, Any]):
    """A dict of URL -> any picklable value, bounded in memory (see the module)."""

    def _encode(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def _decode(self, blob: bytes) -> Any:
        return pickle.loads(blob)  # noqa: S301 - our own scratch file, written by this process

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._lookup(key)
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not _MISSING

    def __setitem__(self, key: str, value: Any) -> None:
        self._store(key, value)

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = self._lookup(key)
        if value is _MISSING:
            self._store(key, default)
            return default
        return value

    def __delitem__(self, key: str) -> None:
        if not self._delete(key):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._rows())

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]  # an iterator, not a view
        return self._rows()


class UrlSet(_Spilling, MutableSet[str]):
    """A set of URLs, bounded in memory (see the module)."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not _MISSING

    def add(self, key: str) -> None:
        if self._table is None or self._lookup(key) is _MISSING:
            self._store(key, True)

    def discard(self, key: str) -> None:
        self._delete(key)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._rows())

    def __ior__(self, other: Iterable[Any]) -> UrlSet:  # type: ignore[misc]  # any iterable, like set's |=
        for key in other:
            self.add(key)
        return self

    def _decode(self, blob: Any) -> Any:
        return True

    @classmethod
    def _from_iterable(cls, items: Iterable[str]) -> set[str]:  # type: ignore[override]  # a plain set
        return set(items)  # `a & b`, `a - b`, ...: a plain set
