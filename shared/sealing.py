"""Crypto-shredding: each resident's personal data is sealed with a key of their own.

The event store is append-only, so erasing a person cannot mean deleting events.
Sensitive values go into events sealed (AES-256-GCM) under their data subject's key;
erasure destroys the key, and every copy of the value (in the store, on Redis, in
read models, in backups of any of them) becomes noise.

Keys live in the owning service's database (`subject_keys`), each wrapped with
AES-256-GCM under a key-encryption key that HKDF-SHA256 derives from
FIVEZERO_SECRET and the service's name: a dump of the database alone opens nothing.
An erased subject keeps its row without a key, so nothing seals for them again.

A sealed value reads `fz1.<subject_id>.<base64url(nonce | ciphertext)>`. Its
associated data binds the subject and the field, so a value moved to another person
or another field does not open.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import create_tables, insert_new, upsert, write_transaction
from shared.events import utc_now

VERSION = "fz1"
"""Names the format of a sealed value and of a wrapped key: a successor can read both."""

_NONCE_BYTES = 12
_TAG_BYTES = 16
_SUBJECT = re.compile(r"[A-Za-z0-9_:-]{1,100}")  # no dot: it separates a sealed value's parts
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]+")
_LOOKUP_BATCH = 500

sealing_metadata = MetaData()

subject_keys = Table(
    "subject_keys",
    sealing_metadata,
    Column("subject_id", String(100), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
)
"""One data key per data subject, wrapped; `wrapped_key` is NULL once the subject is erased."""


class BrokenSeal(ValueError):
    """A sealed value that is malformed, altered, or presented for another field or subject."""


class SubjectErased(Exception):
    """The subject was erased: nothing more is sealed for them."""

    def __init__(self, subject_id: str):
        super().__init__(f"subject {subject_id} was erased")
        self.subject_id = subject_id


class KeyUnopenable(Exception):
    """A stored key does not unwrap: it was wrapped under another FIVEZERO_SECRET (or altered)."""

    def __init__(self, subject_id: str):
        super().__init__(f"the key of subject {subject_id} does not open with this service's secret")
        self.subject_id = subject_id


class KeysTaken(Exception):
    """Keys made for new subjects were not stored: some of those subjects have keys already."""

    def __init__(self, subject_ids: Sequence[str]):
        super().__init__(f"subjects already have keys: {', '.join(subject_ids)}")
        self.subject_ids = list(subject_ids)


class NewKeys:
    """Keys of new subjects made by `Sealer.new_keys`, waiting to be stored."""

    def __init__(self, sealer: Sealer, keys: dict[str, AESGCM], rows: list[dict]):
        self.keys = keys
        self._sealer = sealer
        self._rows = rows

    async def store(self, conn: AsyncConnection) -> None:
        """Writes the keys in `conn`'s transaction; KeysTaken (roll it back) if any subject
        already had a key, since what was sealed under ours would not open."""
        for start in range(0, len(self._rows), _LOOKUP_BATCH):
            chunk = self._rows[start : start + _LOOKUP_BATCH]
            written = set(await insert_new(conn, subject_keys, chunk, key="subject_id"))
            if taken := [row["subject_id"] for row in chunk if row["subject_id"] not in written]:
                raise KeysTaken(taken)

    def adopt(self) -> None:
        """Caches the keys, once the transaction that stored them has committed."""
        for subject_id, key in self.keys.items():
            self._sealer._cache.put(subject_id, key)


class Sealer:
    """Seals, opens and erases one service's personal data. Build it in `create_api` /
    `create_worker` and share it: it caches unwrapped keys for `cache_ttl_s`, which is also
    how long another process may still open a subject's data after erasing it."""

    def __init__(
        self,
        engine: AsyncEngine,
        secret: str,
        service: str,
        *,
        cache_size: int = 10_000,
        cache_ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self._service = service
        self._key_encryption = AESGCM(key_encryption_key(secret, service))
        self._cache = _KeyCache(cache_size, cache_ttl_s, clock)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def setup(self) -> None:
        """Creates `subject_keys` if missing."""
        await create_tables(self.engine, sealing_metadata)

    async def seal(self, subject_id: str, field: str, plaintext: str) -> str:
        """`plaintext` sealed for `field` of `subject_id` (their key is made on first use).
        `field` names the kind of value (`id_number`), never its position in a list."""
        [sealed] = await self.seal_many([(subject_id, field, plaintext)])
        return sealed

    def new_keys(self, subject_ids: Iterable[str]) -> NewKeys:
        """Keys for subjects being created now, not stored yet: seal with `seal_new`, store
        them with `NewKeys.store` in the transaction that writes what they seal, and
        `NewKeys.adopt` them once it has committed. Nothing sealed is left without its key,
        and no key without what it seals."""
        subject_ids = sorted(set(subject_ids))  # sorted: concurrent writers lock rows in one order
        for subject_id in subject_ids:
            _check_subject(subject_id)
        data_keys = {subject_id: AESGCM.generate_key(bit_length=256) for subject_id in subject_ids}
        now = utc_now()
        rows = [{"subject_id": s, "wrapped_key": self._wrap(s, data_keys[s]), "created_at": now} for s in subject_ids]
        return NewKeys(self, {subject_id: AESGCM(key) for subject_id, key in data_keys.items()}, rows)

    def seal_new(self, items: Sequence[tuple[str, str, str]], keys: NewKeys) -> list[str]:
        """(subject id, field, plaintext) triples of the subjects of `keys`, sealed in order."""
        return [self._seal(keys.keys[subject_id], subject_id, field, plaintext) for subject_id, field, plaintext in items]

    async def seal_many(self, items: Sequence[tuple[str, str, str]]) -> list[str]:
        """(subject id, field, plaintext) triples sealed in order: one key lookup for all
        their subjects, and one write for the keys of any without one (in a transaction of
        its own; `new_keys` is for subjects being created)."""
        subjects = {subject_id for subject_id, _field, _plaintext in items}
        for subject_id in subjects:
            _check_subject(subject_id)
        keys = await self._keys(subjects)
        if missing := sorted(subjects - set(keys)):  # sorted: concurrent writers lock rows in one order
            keys.update(await self._create_keys(missing))
        sealed = []
        for subject_id, field, plaintext in items:
            key = keys[subject_id]
            if key is None:
                raise SubjectErased(subject_id)
            sealed.append(self._seal(key, subject_id, field, plaintext))
        return sealed

    @staticmethod
    def _seal(key: AESGCM, subject_id: str, field: str, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        blob = key.encrypt(nonce, plaintext.encode(), _associated_data(subject_id, field))
        return f"{VERSION}.{subject_id}.{_encode(nonce + blob)}"

    async def unseal(self, sealed: str, field: str) -> str | None:
        """The plaintext, or None once its subject is erased; BrokenSeal if it is not genuine."""
        [plaintext] = await self.unseal_many([(sealed, field)])
        return plaintext

    async def unseal_many(self, sealed_fields: Iterable[tuple[str, str]]) -> list[str | None]:
        """Opens (sealed value, field) pairs in order, looking each subject's key up once."""
        parsed = [(_parse(sealed), field) for sealed, field in sealed_fields]
        keys = await self._keys({subject_id for (subject_id, _), _ in parsed})
        return [_open(keys.get(subject_id), subject_id, field, blob) for (subject_id, blob), field in parsed]

    async def erase(self, subject_id: str) -> None:
        """Destroys the subject's key: nothing sealed for them opens again, here or in a backup
        taken afterwards. Erasing twice, or a subject who never had a key, is fine."""
        _check_subject(subject_id)
        now = utc_now()
        async with write_transaction(self.engine) as conn:
            await upsert(
                conn,
                subject_keys,
                {"subject_id": subject_id, "wrapped_key": None, "created_at": now, "erased_at": now},
                key=("subject_id",),
                update=("wrapped_key", "erased_at"),
            )
        self._cache.put(subject_id, None)

    async def _create_keys(self, subject_ids: Sequence[str]) -> dict[str, AESGCM | None]:
        """New keys for `subject_ids`, or those concurrent writers stored first, in one transaction."""
        data_keys = {subject_id: AESGCM.generate_key(bit_length=256) for subject_id in subject_ids}
        now = utc_now()
        keys: dict[str, AESGCM | None] = {}
        async with write_transaction(self.engine) as conn:
            for start in range(0, len(subject_ids), _LOOKUP_BATCH):
                chunk = subject_ids[start : start + _LOOKUP_BATCH]
                rows = [
                    {"subject_id": s, "wrapped_key": self._wrap(s, data_keys[s]), "created_at": now} for s in chunk
                ]
                written = set(await insert_new(conn, subject_keys, rows, key="subject_id"))
                keys.update({subject_id: AESGCM(data_keys[subject_id]) for subject_id in written})
                if others := [subject_id for subject_id in chunk if subject_id not in written]:
                    keys.update(await self._load(conn, others))
        for subject_id, key in keys.items():
            self._cache.put(subject_id, key)
        return keys

    async def _keys(self, subject_ids: set[str]) -> dict[str, AESGCM | None]:
        """Keys by subject: None for an erased subject, absent for one that never had a key."""
        found, missing = self._cache.get_many(subject_ids)
        if missing:
            async with self._reads.connect() as conn:
                for start in range(0, len(missing), _LOOKUP_BATCH):
                    loaded = await self._load(conn, missing[start : start + _LOOKUP_BATCH])
                    for subject_id, key in loaded.items():
                        self._cache.put(subject_id, key)
                    found.update(loaded)
        return found

    async def _load(self, conn: AsyncConnection, subject_ids: Sequence[str]) -> dict[str, AESGCM | None]:
        rows = await conn.execute(
            select(subject_keys.c.subject_id, subject_keys.c.wrapped_key).where(
                subject_keys.c.subject_id.in_(subject_ids)
            )
        )
        return {
            subject_id: None if wrapped is None else AESGCM(self._unwrap(subject_id, wrapped))
            for subject_id, wrapped in rows
        }

    def _wrap(self, subject_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._key_encryption.encrypt(nonce, data_key, self._key_associated_data(subject_id))

    def _unwrap(self, subject_id: str, wrapped: bytes) -> bytes:
        nonce, sealed = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
        try:
            return self._key_encryption.decrypt(nonce, sealed, self._key_associated_data(subject_id))
        except InvalidTag:
            raise KeyUnopenable(subject_id) from None

    def _key_associated_data(self, subject_id: str) -> bytes:
        # Binds a wrapped key to its row: copied to another subject or service, it does not open.
        return f"{VERSION}-key|{self._service}|{subject_id}".encode()


def key_encryption_key(secret: str, service: str) -> bytes:
    """The 256-bit key that wraps `service`'s data keys, derived from FIVEZERO_SECRET."""
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"fivezero subject keys", info=service.encode())
    return derive.derive(secret.encode())


def _check_subject(subject_id: str) -> None:
    if not _SUBJECT.fullmatch(subject_id):
        raise ValueError(f"a subject id is 1-100 letters, digits, '-', '_' or ':', not {subject_id!r}")


def _associated_data(subject_id: str, field: str) -> bytes:
    return f"{VERSION}|{subject_id}|{field}".encode()  # a subject id has no '|', so this parses one way


def _parse(sealed: str) -> tuple[str, bytes]:
    parts = sealed.split(".")
    if len(parts) != 3:
        raise BrokenSeal("not a sealed value")
    version, subject_id, payload = parts
    if version != VERSION or not _SUBJECT.fullmatch(subject_id) or not _PAYLOAD.fullmatch(payload):
        raise BrokenSeal("not a sealed value")
    blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise BrokenSeal("a sealed value too short to be genuine")
    return subject_id, blob


def _open(key: AESGCM | None, subject_id: str, field: str, blob: bytes) -> str | None:
    if key is None:
        return None
    try:
        plaintext = key.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _associated_data(subject_id, field))
    except InvalidTag:
        raise BrokenSeal(f"does not open as {field} of {subject_id}: altered, or sealed for another") from None
    return plaintext.decode()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class _KeyCache:
    """Unwrapped keys (None for an erased subject), least recently used dropped first.
    Entries expire after `ttl_s`, so an erasure made by another process takes effect here too."""

    def __init__(self, size: int, ttl_s: float, clock: Callable[[], float]):
        self._size = size
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, AESGCM | None]] = OrderedDict()

    def get_many(self, subject_ids: Iterable[str]) -> tuple[dict[str, AESGCM | None], list[str]]:
        """(what is cached, the subjects that are not)."""
        now = self._clock()
        found: dict[str, AESGCM | None] = {}
        missing: list[str] = []
        for subject_id in subject_ids:
            entry = self._entries.get(subject_id)
            if entry is None or entry[0] <= now:
                self._entries.pop(subject_id, None)
                missing.append(subject_id)
                continue
            self._entries.move_to_end(subject_id)
            found[subject_id] = entry[1]
        return found, missing

    def put(self, subject_id: str, key: AESGCM | None) -> None:
        self._entries[subject_id] = (self._clock() + self._ttl_s, key)
        self._entries.move_to_end(subject_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
