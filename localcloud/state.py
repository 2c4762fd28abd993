"""``--state-file``: the emulator's DynamoDB items and SQS messages, kept on disk while the local
cloud runs.

* **Durable.** Every DynamoDB request that succeeded and may have changed data is appended to a
  journal (``<state file>.journal``: its sequence number, action and request body) before the
  emulator answers it (:func:`localcloud.dynamodb_atomic.journal_to`), so a write the API
  acknowledged is in the kernel's hands before the client hears of it and survives a ``kill -9``
  of the local cloud. The queues' messages are journaled the same way (:mod:`localcloud.sqs_journal`:
  a message added, deleted or purged), so a message whose send was answered survives too, with its
  id. (The journal is not fsynced per write: a power cut may lose the last
  writes; the snapshot below is.) A background saver writes a snapshot within ``interval``
  seconds of a write: every table read under the emulator's request lock (a consistent cut, with
  the journal's sequence number it includes), written to a temporary file, fsynced, renamed over
  the state file, the directory fsynced; then the journal drops what the snapshot holds. A start
  loads the snapshot and replays the journal's later entries, in order, through the emulator
  (DynamoDB's as requests, SQS's into the queues).
* **Loud.** A save that fails stops the saver and reports through ``on_error`` (the CLI prints
  the reason and exits non-zero); :meth:`StateFile.save` raises :class:`StateFileError`.
* **Strict on load.** A file that is not JSON or not a state file is refused with a one-line
  :class:`StateFileError`, and left untouched.
* **Keeps what it does not know.** Tables in the file that the template does not define are not
  created, but are written back unchanged on every save.
* **Private.** The file is created with mode 0600 (it holds customer data, and the values of the
  template's secrets under ``secretsmanager``: the cursor key lives as long as the file).
* **Same people, same samples.** The dev users' ids (``cognito.users``: sign-in name -> sub) are
  kept, so ``createdBy`` names the same user after a restart; ``seeded`` records that ``--seed``
  created its samples, so a restart does not create them again.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from localcloud import dynamodb_atomic, sqs_journal

__all__ = ["FORMAT", "StateFile", "StateFileError"]

FORMAT = "localcloud-state"
VERSION = 1


class StateFileError(RuntimeError):
    """The state file cannot be read or written (one line, for the user)."""


class StateFile:
    def __init__(
        self,
        path: str | os.PathLike[str],
        tables: Iterable[str],
        account: str,
        region: str,
        queues: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.tables = list(tables)
        self.queues = list(queues)
        self.messages: dict[str, list[Any]] = {}  # the snapshot's messages by queue, until restored
        self.account = account
        self.region = region
        self.foreign: dict[str, list[Any]] = {}  # tables the template does not define, kept as read
        self.foreign_queues: dict[str, list[Any]] = {}  # and queues
        self.secrets: dict[str, str] = {}  # Secrets Manager values by logical id (the cursor key)
        self.users: dict[str, str] = {}  # dev users' subs by sign-in name (cognito.users)
        self.seeded = False  # --seed created its samples into this file's tables
        self.loaded = False  # False until load() succeeded: never overwrite a file we could not read
        self._saved_writes: tuple[int, int] = (-1, -1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._save_lock = threading.Lock()  # the saver thread and the starting thread both save
        self.error: BaseException | None = None
        self.journal = self.path.with_name(self.path.name + ".journal")
        self._snapshot_seq = 0  # the last journal entry the state file holds
        self._seq = 0  # the last journal entry written
        self._journal_fd: int | None = None
        self._journal_lock = threading.Lock()  # DynamoDB and SQS append from their own locks

    # ------------------------------------------------------------ load
    def read(self) -> dict[str, list[Any]]:
        """{table: [items in DynamoDB JSON]}; {} when there is no file yet."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else f"not valid JSON ({exc})"
            raise StateFileError(f"state file {self.path}: {reason}; fix or remove it") from None
        tables = data.get("dynamodb") if isinstance(data, dict) else None
        if (
            not isinstance(tables, dict)
            or data.get("format", FORMAT) != FORMAT
            or not all(isinstance(items, list) and all(isinstance(i, dict) for i in items) for items in tables.values())
        ):
            raise StateFileError(
                f"state file {self.path}: not a local cloud state file "
                f'(expected {{"format": "{FORMAT}", "dynamodb": {{table: [items]}}}}); fix or remove it'
            )
        if data.get("version", VERSION) != VERSION:
            raise StateFileError(f"state file {self.path}: version {data.get('version')} is not supported")
        secrets = data.get("secretsmanager", {})
        if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
            raise StateFileError(f"state file {self.path}: secretsmanager is not {{name: value}}; fix or remove it")
        self.secrets = dict(secrets)
        cognito = data.get("cognito", {})
        users = cognito.get("users", {}) if isinstance(cognito, dict) else None
        if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
            raise StateFileError(f"state file {self.path}: cognito.users is not {{name: sub}}; fix or remove it")
        self.users = dict(users)
        self.seeded = data.get("seeded") is True
        messages = data.get("sqs", {})
        if not isinstance(messages, dict) or not all(
            isinstance(m, list) and all(isinstance(i, dict) for i in m) for m in messages.values()
        ):
            raise StateFileError(f"state file {self.path}: sqs is not {{queue: [messages]}}; fix or remove it")
        self.messages = dict(messages)
        seq = data.get("journalSeq", 0)
        if not isinstance(seq, int):
            raise StateFileError(f"state file {self.path}: journalSeq is not a number; fix or remove it")
        self._snapshot_seq = self._seq = seq
        return tables

    def restore(self, dynamodb_client: Any, data: Mapping[str, list[Any]]) -> list[str]:
        """Put the items :meth:`read` returned into the emulator; returns the tables kept but not
        served."""
        self.foreign = {name: items for name, items in data.items() if name not in self.tables}
        for table, items in data.items():
            if table in self.foreign:
                continue
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                try:
                    dynamodb_client.batch_write_item(RequestItems={table: batch})
                except Exception as exc:
                    message = f"state file {self.path}: table {table}: cannot restore items ({exc})"
                    raise StateFileError(message) from None
        self.foreign_queues = {name: m for name, m in self.messages.items() if name not in self.queues}
        sqs_journal.restore(self.account, self.region, {q: m for q, m in self.messages.items() if q in self.queues})
        replayed = self._replay(dynamodb_client)
        self.loaded = True
        self._saved_writes = (-1, -1) if replayed else self._counts()  # replayed: compact soon
        self._open_journal()
        return sorted(self.foreign)

    # ------------------------------------------------------------ journal
    def _entries(self) -> list[dict[str, Any]]:
        """The journal's complete entries (a torn last line was never answered: it is dropped)."""
        if not self.journal.exists():
            return []
        entries = []
        for line in self.journal.read_bytes().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                break  # the process died while appending it: the write was never acknowledged
            entries.append(entry)
        return entries

    def _replay(self, dynamodb_client: Any) -> int:
        count = 0
        for entry in self._entries():
            if entry["seq"] <= self._snapshot_seq:
                continue
            try:
                if "sqs" in entry:
                    sqs_journal.apply(self.account, self.region, entry)
                else:
                    dynamodb_client._make_api_call(entry["action"], json.loads(entry["body"]))
            except Exception as exc:
                message = f"state file journal {self.journal}: entry {entry['seq']} cannot be replayed ({exc})"
                raise StateFileError(message) from None
            self._seq = entry["seq"]
            count += 1
        return count

    def _open_journal(self) -> None:
        self._journal_fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(self._journal_fd, 0o600)
        dynamodb_atomic.journal_to(lambda action, body: self._append({"action": action, "body": body}))
        sqs_journal.journal_to(self._append)

    def _append(self, entry: dict[str, Any]) -> None:
        """Under the emulator's DynamoDB or SQS lock, before the change is answered."""
        with self._journal_lock:
            assert self._journal_fd is not None
            line = json.dumps({"seq": self._seq + 1, **entry}, separators=(",", ":")) + "\n"
            data = memoryview(line.encode("utf-8"))
            while data:
                data = data[os.write(self._journal_fd, data) :]
            self._seq += 1

    def _compact_journal(self, saved_seq: int) -> None:
        """Drop the entries the state file now holds (under the request locks: no append meanwhile)."""
        with dynamodb_atomic.locked(), sqs_journal.locked():
            if self._journal_fd is None:
                return
            if self._seq == saved_seq:
                os.ftruncate(self._journal_fd, 0)
                return
            later = [e for e in self._entries() if e["seq"] > saved_seq]
            tmp = self.journal.with_name(f".{self.journal.name}.tmp")
            tmp.write_bytes(b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in later))
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.journal)
            os.close(self._journal_fd)
            self._journal_fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        """Stop journaling (the local cloud stops; its last save has been made)."""
        with dynamodb_atomic.locked(), sqs_journal.locked():
            dynamodb_atomic.journal_to(None)
            sqs_journal.journal_to(None)
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None

    # ------------------------------------------------------------ save
    def snapshot(self) -> dict[str, list[Any]]:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.account][self.region]
        out: dict[str, list[Any]] = {}
        with dynamodb_atomic.locked():
            for name in self.tables:
                table = backend.tables.get(name)
                out[name] = [item.to_json()["Attributes"] for item in table.all_items()] if table else []
        return {**self.foreign, **out}

    def save(self) -> None:
        with self._save_lock:
            self._save()

    def _save(self) -> None:
        if not self.loaded:
            return
        try:
            with dynamodb_atomic.locked(), sqs_journal.locked():
                writes, seq, tables = self._counts(), self._seq, self.snapshot()
                queues = {**self.foreign_queues, **sqs_journal.snapshot(self.account, self.region, self.queues)}
            document: dict[str, Any] = {"format": FORMAT, "version": VERSION, "journalSeq": seq, "dynamodb": tables}
            if any(queues.values()):
                document["sqs"] = queues
            if self.secrets:
                document["secretsmanager"] = self.secrets
            if self.users:
                document["cognito"] = {"users": self.users}
            if self.seeded:
                document["seeded"] = True
            payload = json.dumps(document)
            self._write_atomically(payload.encode("utf-8"))
            self._compact_journal(seq)
        except Exception as exc:
            raise StateFileError(f"cannot save the state file {self.path}: {exc}") from exc
        self._saved_writes = writes

    def _write_atomically(self, data: bytes) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{self.path.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _counts() -> tuple[int, int]:
        return dynamodb_atomic.writes(), sqs_journal.changes()

    @property
    def dirty(self) -> bool:
        return self._counts() != self._saved_writes

    # ------------------------------------------------------------ background saver
    def start_autosave(self, on_error: Callable[[BaseException], None], interval: float = 0.25) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                if not self.dirty:
                    continue
                try:
                    self.save()
                except StateFileError as exc:
                    self.error = exc
                    on_error(exc)
                    return

        self._thread = threading.Thread(target=loop, name="localcloud-state-saver", daemon=True)
        self._thread.start()

    def stop_autosave(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
