"""Crypto-shredding of residents' personal data, on SQLite and on PostgreSQL alike."""

import asyncio
import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import MetaData, event, select, update

from shared.db import create_engine, write_transaction
from shared.sealing import BrokenSeal, KeysTaken, KeyUnopenable, Sealer, SubjectErased, subject_keys
from tests.support.kernel import SECRET, ResidentRegistered, close_store, context, open_store

WANG = "resident-wang-xiuying"
LI = "resident-li-jianguo"
WANG_ID_NUMBER = "510703195803120028"
WANG_PHONE = "13812345678"
LI_ID_NUMBER = "510703195611050131"


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def a_sealer(engine, secret: str = SECRET, **options) -> Sealer:
    """A sealer with an empty cache, as another process would start."""
    sealer = Sealer(engine, secret, "intake", **options)
    await sealer.setup()
    return sealer


@pytest.fixture
async def sealer(engine) -> Sealer:
    return await a_sealer(engine)


@pytest.fixture
def data_keys(monkeypatch) -> list[bytes]:
    """Every data key generated during the test, in order."""
    made: list[bytes] = []
    generate = AESGCM.generate_key

    def recording(bit_length: int) -> bytes:
        made.append(generate(bit_length))
        return made[-1]

    monkeypatch.setattr(AESGCM, "generate_key", staticmethod(recording))
    return made


def key_lookups(engine) -> list[str]:
    """SQL statements that read `subject_keys` from now on."""
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT") and "subject_keys" in statement:
            statements.append(statement)

    return statements


async def dump(engine) -> bytes:
    """Every row of every table, as a database dump would hold it."""
    async with engine.connect() as conn:
        metadata = MetaData()
        await conn.run_sync(metadata.reflect)
        parts: list[bytes] = []
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                parts += [value if isinstance(value, bytes) else str(value).encode() for value in row]
    return b"\n".join(parts)


def spellings(secret: bytes) -> list[bytes]:
    return [secret, secret.hex().encode(), base64.b64encode(secret), base64.urlsafe_b64encode(secret).rstrip(b"=")]


async def stored_keys(engine) -> dict[str, bytes | None]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(subject_keys.c.subject_id, subject_keys.c.wrapped_key))).all())


# --- sealing and opening ---


async def test_wang_xiuyings_id_number_opens_again_after_sealing(sealer):
    sealed = await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)

    assert sealed.startswith(f"fz1.{WANG}.")
    assert WANG_ID_NUMBER not in sealed
    assert await sealer.unseal(sealed, "id_number") == WANG_ID_NUMBER


async def test_a_sealed_value_opens_in_another_process_with_the_same_secret(engine, sealer):
    sealed = await sealer.seal(WANG, "remarks", "独居老人，腿脚不便")

    assert await (await a_sealer(engine)).unseal(sealed, "remarks") == "独居老人，腿脚不便"


async def test_the_same_value_sealed_twice_looks_different_each_time(sealer):
    first = await sealer.seal(WANG, "phone", WANG_PHONE)
    second = await sealer.seal(WANG, "phone", WANG_PHONE)

    assert first != second
    assert await sealer.unseal_many([(first, "phone"), (second, "phone")]) == [WANG_PHONE, WANG_PHONE]


async def test_an_altered_sealed_value_does_not_open(sealer):
    sealed = await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
    flipped = "A" if sealed[-5] != "A" else "B"

    with pytest.raises(BrokenSeal):
        await sealer.unseal(sealed[:-5] + flipped + sealed[-4:], "id_number")


async def test_a_sealed_value_does_not_open_as_another_field(sealer):
    sealed = await sealer.seal(WANG, "phone", WANG_PHONE)

    with pytest.raises(BrokenSeal):
        await sealer.unseal(sealed, "id_number")


async def test_a_sealed_value_moved_to_another_resident_does_not_open(sealer):
    await sealer.seal(LI, "id_number", LI_ID_NUMBER)
    wangs = await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)

    with pytest.raises(BrokenSeal):
        await sealer.unseal(wangs.replace(WANG, LI), "id_number")


@pytest.mark.parametrize(
    "not_sealed",
    [
        "",
        WANG_ID_NUMBER,
        f"fz1.{WANG}",
        f"fz2.{WANG}.{'A' * 40}",
        f"fz1.{WANG}.{'A' * 40}.extra",
        f"fz1.{WANG}.not+base64/url",
        f"fz1.{WANG}.AAAA",
        f"fz1.王秀英.{'A' * 40}",
    ],
    ids=[
        "empty", "plaintext", "no-payload", "unknown-version", "four-parts", "bad-alphabet", "too-short", "non-ascii-subject"
    ],
)
async def test_something_that_is_not_a_sealed_value_is_refused(sealer, not_sealed: str):
    with pytest.raises(BrokenSeal):
        await sealer.unseal(not_sealed, "id_number")


@pytest.mark.parametrize("subject_id", ["", "resident.wang", "resident|wang", "王秀英", "r" * 101])
async def test_a_subject_id_that_could_make_a_sealed_value_ambiguous_is_refused(sealer, subject_id: str):
    with pytest.raises(ValueError):
        await sealer.seal(subject_id, "id_number", WANG_ID_NUMBER)
    with pytest.raises(ValueError):
        await sealer.erase(subject_id)


# --- erasure ---


async def test_after_erasure_wang_xiuyings_data_opens_as_none_and_li_jianguos_still_opens(engine, sealer):
    wangs = [await sealer.seal(WANG, "id_number", WANG_ID_NUMBER), await sealer.seal(WANG, "phone", WANG_PHONE)]
    lis = await sealer.seal(LI, "id_number", LI_ID_NUMBER)

    await sealer.erase(WANG)

    opened = [(wangs[0], "id_number"), (wangs[1], "phone"), (lis, "id_number")]
    assert await sealer.unseal_many(opened) == [None, None, LI_ID_NUMBER]
    assert await (await a_sealer(engine)).unseal_many(opened) == [None, None, LI_ID_NUMBER]


async def test_nothing_more_is_sealed_for_an_erased_resident(engine, sealer):
    await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
    await sealer.erase(WANG)

    with pytest.raises(SubjectErased):
        await sealer.seal(WANG, "phone", WANG_PHONE)
    with pytest.raises(SubjectErased):
        await (await a_sealer(engine)).seal(WANG, "phone", WANG_PHONE)


async def test_erasing_twice_or_erasing_someone_never_sealed_is_harmless(sealer):
    await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
    await sealer.erase(WANG)
    await sealer.erase(WANG)
    await sealer.erase(LI)

    with pytest.raises(SubjectErased):
        await sealer.seal(LI, "id_number", LI_ID_NUMBER)


async def test_an_erasure_in_another_process_takes_effect_here_when_the_cached_key_expires(engine):
    now = [0.0]
    here = await a_sealer(engine, cache_ttl_s=60, clock=lambda: now[0])
    sealed = await here.seal(WANG, "id_number", WANG_ID_NUMBER)

    await (await a_sealer(engine)).erase(WANG)

    now[0] = 61.0
    assert await here.unseal(sealed, "id_number") is None


async def test_a_database_dump_holds_no_plaintext_nor_bare_key_and_after_erasure_not_even_the_wrapped_key(
    database_url, engine, sealer, data_keys
):
    store = await open_store(database_url)
    try:
        sealed = await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
        await store.append(WANG, 0, [ResidentRegistered(name=sealed, building="幸福楼院 3 栋")], context())
        [data_key] = data_keys
        wrapped = (await stored_keys(engine))[WANG]
        before = await dump(engine)

        await sealer.erase(WANG)
        after = await dump(engine)

        assert sealed.encode() in before and sealed.encode() in after  # the history stays intact
        for snapshot in (before, after):
            assert WANG_ID_NUMBER.encode() not in snapshot
            assert not any(spelling in snapshot for spelling in spellings(data_key))
        assert wrapped is not None and wrapped in before
        assert not any(spelling in after for spelling in spellings(wrapped))
        assert await store.load(WANG)  # the event is still there, and now says nothing
        assert await sealer.unseal(sealed, "id_number") is None
    finally:
        await close_store(store)


# --- keys ---


async def test_keys_wrapped_under_another_secret_do_not_open(engine, sealer):
    sealed = await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
    other = await a_sealer(engine, secret="another-deployment-secret-of-32-chars!!")

    with pytest.raises(KeyUnopenable):
        await other.unseal(sealed, "id_number")
    with pytest.raises(KeyUnopenable):
        await other.seal(WANG, "phone", WANG_PHONE)


async def test_a_wrapped_key_copied_to_another_residents_row_does_not_open(engine, sealer):
    await sealer.seal(WANG, "id_number", WANG_ID_NUMBER)
    lis = await sealer.seal(LI, "id_number", LI_ID_NUMBER)
    async with write_transaction(engine) as conn:
        wangs_key = await conn.scalar(select(subject_keys.c.wrapped_key).where(subject_keys.c.subject_id == WANG))
        await conn.execute(update(subject_keys).where(subject_keys.c.subject_id == LI).values(wrapped_key=wangs_key))

    with pytest.raises(KeyUnopenable):
        await (await a_sealer(engine)).unseal(lis, "id_number")


class LookingAtTheSameMoment(Sealer):
    """A sealer whose first key lookup waits for the other racers' lookups: all find no key,
    which otherwise happens only sometimes."""

    def __init__(self, engine, barrier: asyncio.Barrier):
        super().__init__(engine, SECRET, "intake")
        self._barrier: asyncio.Barrier | None = barrier

    async def _keys(self, subject_ids):  # noqa: ANN001, ANN202
        found = await super()._keys(subject_ids)
        if barrier := self._barrier:
            self._barrier = None
            await barrier.wait()
        return found


async def test_two_first_seals_racing_for_a_new_resident_make_one_key_and_both_open(engine, data_keys):
    barrier = asyncio.Barrier(2)
    first, second = LookingAtTheSameMoment(engine, barrier), LookingAtTheSameMoment(engine, barrier)
    await first.setup()

    sealed = await asyncio.gather(first.seal(WANG, "id_number", WANG_ID_NUMBER), second.seal(WANG, "phone", WANG_PHONE))

    assert len(data_keys) == 2  # both made a key; one was stored
    assert list(await stored_keys(engine)) == [WANG]
    fields = [(sealed[0], "id_number"), (sealed[1], "phone")]
    for reader in (first, second, await a_sealer(engine)):
        assert await reader.unseal_many(fields) == [WANG_ID_NUMBER, WANG_PHONE]


async def test_two_writers_sealing_a_new_household_at_once_agree_on_each_residents_key(engine, data_keys):
    """Both writers find no keys and make some; one set is stored, and the loser seals with
    the winner's keys, so every value opens."""
    first, second = await a_sealer(engine), await a_sealer(engine)
    household = [(WANG, "phone", WANG_PHONE), (LI, "id_number", LI_ID_NUMBER)]

    sealed = await asyncio.gather(first.seal_many(household), second.seal_many(household))

    assert sorted(await stored_keys(engine)) == sorted([WANG, LI])
    fields = [(value, field) for values in sealed for value, (_s, field, _p) in zip(values, household, strict=True)]
    for reader in (first, second, await a_sealer(engine)):
        assert await reader.unseal_many(fields) == [WANG_PHONE, LI_ID_NUMBER] * 2


async def test_a_list_opens_many_values_with_one_key_lookup_for_all_its_residents(engine, sealer):
    rows = []
    for subject_id, id_number in ((WANG, WANG_ID_NUMBER), (LI, LI_ID_NUMBER)):
        rows += [
            (await sealer.seal(subject_id, "id_number", id_number), "id_number"),
            (await sealer.seal(subject_id, "phone", WANG_PHONE), "phone"),
        ]
    reader = await a_sealer(engine)
    lookups = key_lookups(engine)

    assert await reader.unseal_many(rows) == [WANG_ID_NUMBER, WANG_PHONE, LI_ID_NUMBER, WANG_PHONE]
    assert len(lookups) == 1
    await reader.unseal_many(rows)
    assert len(lookups) == 1  # both keys came from the cache


async def test_the_least_recently_used_key_leaves_a_full_cache(engine, sealer):
    wangs = await sealer.seal(WANG, "phone", WANG_PHONE)
    lis = await sealer.seal(LI, "phone", WANG_PHONE)
    reader = await a_sealer(engine, cache_size=1)
    lookups = key_lookups(engine)

    await reader.unseal(wangs, "phone")
    await reader.unseal(lis, "phone")
    await reader.unseal(lis, "phone")
    assert len(lookups) == 2
    await reader.unseal(wangs, "phone")
    assert len(lookups) == 3


async def test_keys_made_for_new_subjects_are_stored_with_what_they_seal(engine, sealer):
    keys = sealer.new_keys([WANG, LI])
    [phone, id_number] = sealer.seal_new([(WANG, "phone", WANG_PHONE), (LI, "id_number", LI_ID_NUMBER)], keys)
    async with write_transaction(engine) as conn:
        await keys.store(conn)
    keys.adopt()

    assert await sealer.unseal(phone, "phone") == WANG_PHONE
    # Another process, with nothing cached, opens them from the stored keys.
    other = await a_sealer(engine)
    assert await other.unseal(id_number, "id_number") == LI_ID_NUMBER


async def test_new_keys_rolled_back_with_their_transaction_leave_nothing_behind(engine, sealer):
    keys = sealer.new_keys([WANG])
    sealer.seal_new([(WANG, "phone", WANG_PHONE)], keys)
    with pytest.raises(RuntimeError):
        async with write_transaction(engine) as conn:
            await keys.store(conn)
            raise RuntimeError("the events were refused")

    async with engine.connect() as conn:
        assert (await conn.execute(select(subject_keys.c.subject_id))).all() == []
    # The subject gets a key later as usual.
    [phone] = await sealer.seal_many([(WANG, "phone", WANG_PHONE)])
    assert await sealer.unseal(phone, "phone") == WANG_PHONE


async def test_new_keys_for_a_subject_who_has_one_are_refused_whole(engine, sealer):
    [earlier] = await sealer.seal_many([(WANG, "phone", WANG_PHONE)])
    keys = sealer.new_keys([LI, WANG])

    with pytest.raises(KeysTaken) as refused:
        async with write_transaction(engine) as conn:
            await keys.store(conn)

    assert refused.value.subject_ids == [WANG]
    async with engine.connect() as conn:
        assert [row.subject_id for row in await conn.execute(select(subject_keys.c.subject_id))] == [WANG]
    assert await (await a_sealer(engine)).unseal(earlier, "phone") == WANG_PHONE
