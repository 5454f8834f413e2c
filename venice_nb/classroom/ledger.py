"""Who may spend what: students, their hashed tokens, budgets, reservations and settled spend.

Money is held in micro-dollars (integers), so a thousand $0.001 charges never drift. A request's
price is *reserved* in one transaction (refused when it would take the student's budget, or the
class's, below zero) and *settled* or *released* in another once the answer is known; a gateway
killed in between leaves reservations behind, which ``recover`` releases when it starts again.

``Ledger`` is the interface the gateway uses; ``SqliteLedger`` (standard library, WAL mode) is the
embedded default, and a shared database could stand in for it. Tokens are never stored: only their
SHA-256, found by index and compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MICRO = 1_000_000
TOKEN_PREFIX = "vcl_"
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class LedgerError(Exception):
    """A refused admin action: one line saying what is wrong and how to fix it."""


class LedgerBusy(LedgerError):
    """Another running gateway serves this ledger (it holds the ledger's lock file)."""


class OverBudget(Exception):
    """A reservation that would take a budget below zero; ``message`` names the budget."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def to_micro(usd: float) -> int:
    return round(usd * MICRO)


def to_usd(micro: int) -> float:
    return round(micro / MICRO, 6)


def usd(micro: int) -> str:
    """Dollars as a person reads them: $0.04, $1.2345."""
    value = micro / MICRO
    return f"${value:.2f}" if round(value, 2) == round(value, 6) else f"${value:.4f}".rstrip("0")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_name(name: str) -> str:
    if not NAME_RULE.match(name or ""):
        raise LedgerError(
            f"student name {name!r} is not usable: use 1-64 letters, digits, '.', '_', '@' or "
            "'-', starting with a letter or digit (e.g. ada.lovelace)"
        )
    return name


def check_budget(amount: float) -> int:
    if not amount >= 0 or amount != amount or amount > 1_000_000:
        raise LedgerError(f"budget must be a number of dollars from 0 to 1000000, got {amount}")
    return to_micro(amount)


@dataclass(frozen=True)
class Student:
    """One student's account as the ledger holds it (micro-dollars); never the token."""

    name: str
    budget: int
    spent: int
    reserved: int
    images: int
    requests: int
    refusals: int
    revoked: bool

    @property
    def remaining(self) -> int:
        return self.budget - self.spent - self.reserved

    def __repr__(self) -> str:
        state = " revoked" if self.revoked else ""
        return (
            f"<Student {self.name} spent {usd(self.spent)} of {usd(self.budget)}, "
            f"{self.images} images{state}>"
        )


@dataclass(frozen=True)
class Recovery:
    """What opening the ledger found left over from a gateway that stopped mid-request."""

    released: int
    amount: int

    def __str__(self) -> str:
        if not self.released:
            return "ledger consistent: no unsettled reservations"
        return (
            f"released {self.released} unsettled reservation(s) ({usd(self.amount)}) left by a "
            "gateway that stopped mid-request; the students were not charged for them"
        )


class Ledger(Protocol):
    """What the gateway and the admin commands need from a ledger."""

    def add(self, name: str, budget_usd: float) -> str: ...
    def authenticate(self, token: str) -> Student | None: ...
    def reserve(self, name: str, amount: int, class_budget: int | None = None) -> int: ...
    def settle(
        self, reservation: int, amount: int, images: int, student: str | None = None
    ) -> bool: ...
    def release(self, reservation: int) -> None: ...
    def count_refusal(self, name: str) -> None: ...
    def student(self, name: str) -> Student | None: ...
    def students(self) -> list[Student]: ...
    def revoke(self, name: str) -> None: ...
    def set_budget(self, name: str, budget_usd: float) -> None: ...
    def open_reservations(self) -> int: ...
    def committed(self) -> int: ...
    def recover(self) -> Recovery: ...
    def close(self) -> None: ...


def default_ledger_path() -> Path:
    """The user's data directory: $XDG_DATA_HOME (~/.local/share), Application Support, APPDATA."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "venice_nb" / "classroom.sqlite3"


SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    budget INTEGER NOT NULL CHECK (budget >= 0),
    spent INTEGER NOT NULL DEFAULT 0,
    images INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    refusals INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL REFERENCES students(name),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_by_student ON reservations(student);
"""

_COLUMNS = "name, budget, spent, images, requests, refusals, revoked"


class SqliteLedger:
    """The ledger in one SQLite file (WAL: the gateway writes while ``report`` reads)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Token hashes and spend: the teacher's file only. Made 600 before SQLite opens it, so
        # the -wal and -shm files it creates beside it take the same mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        if os.name == "posix":
            os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(
            self.path, timeout=15.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._claim: int | None = None  # the lock file's descriptor while this process serves

    def __repr__(self) -> str:
        return f"<SqliteLedger {self.path}>"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so checks and writes agree."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _row(self, db: sqlite3.Connection, name: str) -> Student | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM students WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        (reserved,) = db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE student = ?", (name,)
        ).fetchone()
        n, budget, spent, images, requests, refusals, revoked = row
        return Student(n, budget, spent, reserved, images, requests, refusals, bool(revoked))

    def _existing(self, db: sqlite3.Connection, name: str) -> Student:
        student = self._row(db, name)
        if student is None:
            raise LedgerError(f"no student named {name!r}; `list` shows the names")
        return student

    # ---- admin --------------------------------------------------------------------------------

    def add(self, name: str, budget_usd: float) -> str:
        """A new student; returns the token, which exists nowhere else (only its hash is kept)."""
        check_name(name)
        budget = check_budget(budget_usd)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._tx() as db:
            if self._row(db, name) is not None:
                raise LedgerError(
                    f"student {name!r} exists already; `budget {name} USD` changes the budget, "
                    f"`revoke {name}` then `add` under a new name issues a new token"
                )
            db.execute(
                "INSERT INTO students (name, token_hash, budget, created) VALUES (?, ?, ?, ?)",
                (name, token_hash(token), budget, time.time()),
            )
        return token

    def revoke(self, name: str) -> None:
        with self._tx() as db:
            self._existing(db, name)
            db.execute("UPDATE students SET revoked = 1 WHERE name = ?", (name,))

    def set_budget(self, name: str, budget_usd: float) -> None:
        budget = check_budget(budget_usd)
        with self._tx() as db:
            self._existing(db, name)
            db.execute("UPDATE students SET budget = ? WHERE name = ?", (budget, name))

    def student(self, name: str) -> Student | None:
        with self._lock:
            return self._row(self._db, name)

    def students(self) -> list[Student]:
        with self._lock:
            names = [r[0] for r in self._db.execute("SELECT name FROM students ORDER BY name")]
            return [s for n in names if (s := self._row(self._db, n)) is not None]

    # ---- the gateway --------------------------------------------------------------------------

    def authenticate(self, token: str) -> Student | None:
        """The student holding ``token``; None for an unknown or revoked one."""
        digest = token_hash(token)
        with self._lock:
            row = self._db.execute(
                "SELECT name, token_hash FROM students WHERE token_hash = ?", (digest,)
            ).fetchone()
            if row is None or not hmac.compare_digest(row[1], digest):
                return None
            student = self._row(self._db, row[0])
        return None if student is None or student.revoked else student

    def reserve(self, name: str, amount: int, class_budget: int | None = None) -> int:
        """Hold ``amount`` against the student's budget (and the class's); the reservation id.
        Raises OverBudget, naming the budget, when either would go below zero."""
        with self._tx() as db:
            student = self._existing(db, name)
            if amount > student.remaining:
                raise OverBudget(
                    f"over budget: this request costs {usd(amount)} and your budget has "
                    f"{usd(max(0, student.remaining))} left of {usd(student.budget)} "
                    f"({usd(student.spent)} spent); ask your teacher to raise it"
                )
            if class_budget is not None:
                (spent,) = db.execute("SELECT COALESCE(SUM(spent), 0) FROM students").fetchone()
                (held,) = db.execute("SELECT COALESCE(SUM(amount), 0) FROM reservations").fetchone()
                if spent + held + amount > class_budget:
                    raise OverBudget(
                        f"over budget: the whole class's budget of {usd(class_budget)} is used up "
                        f"({usd(spent)} spent); ask your teacher"
                    )
            cur = db.execute(
                "INSERT INTO reservations (student, amount, created) VALUES (?, ?, ?)",
                (name, amount, time.time()),
            )
            return int(cur.lastrowid or 0)

    def settle(
        self, reservation: int, amount: int, images: int, student: str | None = None
    ) -> bool:
        """Charge what the answer cost (never more than was reserved) and drop the hold; True
        when the hold was there. A hold that is gone (released under a live gateway) still
        charges ``student`` the ``amount`` the answer cost: a delivered image is never free.
        Without ``student`` a missing hold is a LedgerError (settled or released already)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT student, amount FROM reservations WHERE id = ?", (reservation,)
            ).fetchone()
            if row is None:
                if student is None:
                    raise LedgerError(
                        f"reservation {reservation} is not open (settled or released already); "
                        "nothing was charged"
                    )
                name, charge = student, amount
            else:
                name, held = row
                charge = min(amount, held)
                db.execute("DELETE FROM reservations WHERE id = ?", (reservation,))
            db.execute(
                "UPDATE students SET spent = spent + ?, images = images + ?, "
                "requests = requests + 1 WHERE name = ?",
                (charge, images, name),
            )
            return row is not None

    def release(self, reservation: int) -> None:
        """A failed, refused or abandoned request costs nothing: drop its hold."""
        with self._tx() as db:
            row = db.execute(
                "SELECT student FROM reservations WHERE id = ?", (reservation,)
            ).fetchone()
            db.execute("DELETE FROM reservations WHERE id = ?", (reservation,))
            if row is not None:
                db.execute("UPDATE students SET requests = requests + 1 WHERE name = ?", row)

    def count_refusal(self, name: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE students SET refusals = refusals + 1 WHERE name = ?", (name,))

    def open_reservations(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM reservations").fetchone()
            return int(n)

    def recover(self) -> Recovery:
        """Release every reservation a stopped gateway left; run before serving again."""
        with self._tx() as db:
            count, amount = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM reservations"
            ).fetchone()
            db.execute("DELETE FROM reservations")
        return Recovery(int(count), int(amount))

    def committed(self) -> int:
        """What the whole class has spent or holds now (for the class budget's remainder)."""
        with self._lock:
            (spent,) = self._db.execute("SELECT COALESCE(SUM(spent), 0) FROM students").fetchone()
            (held,) = self._db.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM reservations"
            ).fetchone()
            return int(spent) + int(held)

    def claim(self) -> None:
        """Hold this ledger for this process's gateway until ``close`` (or the process ends,
        even by kill -9): an exclusive lock on ``PATH.lock`` beside it. LedgerBusy, naming the
        process, when another gateway holds it; then nothing may be recovered."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            _lock_file(fd)
        except OSError:
            try:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
            except OSError:  # Windows: the holder's lock covers reading too
                holder = ""
            os.close(fd)
            who = f" (process {holder})" if holder.isdigit() else ""
            raise LedgerBusy(
                f"another gateway{who} is serving the ledger {self.path}; stop it first, or give "
                "this one its own --ledger"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._claim = fd

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._claim is not None:
                os.close(self._claim)  # the lock goes with the descriptor
                self._claim = None


def _lock_file(fd: int) -> None:
    """An exclusive, non-blocking lock on the open file ``fd``; OSError when another holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
