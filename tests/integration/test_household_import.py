"""Intake's bulk import of households, on SQLite and PostgreSQL: every household of a sheet
and its residents in one transaction or none, and nobody registered twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from services.intake.domain.imports import HouseholdsDiffer
from services.intake.handlers import Intake
from services.intake.handlers.households import change_household, register_household, residents_of
from services.intake.handlers.imports import import_households, imported_household_id
from services.intake.registry import registry_metadata, residents_index
from shared.contracts.intake_imports import ImportHouseholds
from shared.contracts.intake_requests import ChangeHousehold, RegisterHousehold
from shared.contracts.intake_residents import ResidentRecord, ResidentRegistered, resident_stream
from shared.db import create_engine, create_tables
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict, EventStore
from shared.sealing import Sealer, subject_keys
from tests.support.kernel import SECRET

COMMUNITY = "c-mianzhou"
WORKER = "community_worker"
XINGFU_3 = {"compound": "幸福楼院", "building": "3栋", "unit": "2", "room": "301"}


def wang_xiuying(**changes: Any) -> dict[str, Any]:
    head = {"name": "王秀英", "sex": "2", "birth_month": "1958-03", "ethnicity": "01", "political_status": "13",
            "phone": "13812345678"}
    son = {"name": "李明", "sex": "1", "birth_month": "1985-07", "ethnicity": "01", "relation": "20"}
    return {"head": head, "members": [son], "address": XINGFU_3, **changes}


def zhang_guilan(**changes: Any) -> dict[str, Any]:
    head = {"name": "张桂兰", "sex": "2", "birth_month": "1949-11", "ethnicity": "01", "political_status": "01",
            "phone": "0816-2345678"}
    return {"head": head, "address": {"compound": "和平楼院", "building": "1栋"}, **changes}


def sheet(*households: tuple[int, str, dict[str, Any]]) -> ImportHouseholds:
    return ImportHouseholds.model_validate(
        {"households": [{"row": row, "key": key, "household": household} for row, key, household in households]}
    )


WANG = (5, "王秀英|1958-03|幸福楼院|3栋|2|301", wang_xiuying())
ZHANG = (7, "张桂兰|1949-11|和平楼院|1栋||", zhang_guilan())


@pytest.fixture
async def intake(database_url):
    engine = create_engine(database_url)
    store = EventStore(engine)
    await store.setup()
    sealer = Sealer(engine, SECRET, "intake")
    await sealer.setup()
    await create_tables(engine, registry_metadata)
    yield Intake(store, sealer, b"digest-key-for-tests-0123456789ab")
    await store.close()
    await engine.dispose()


def context() -> CommandContext:
    return CommandContext.new(COMMUNITY, WORKER)


async def event_count(intake: Intake) -> int:
    return len(await intake.store.read_all(limit=100_000))


async def indexed_names(intake: Intake) -> list[str]:
    async with intake.store.engine.connect() as conn:
        return sorted((await conn.execute(select(residents_index.c.name))).scalars())


async def test_an_import_registers_every_household_and_each_person_as_a_resident_in_one_go(intake):
    imported = await import_households(intake, sheet(WANG, ZHANG), context())

    assert [(item.row, item.status) for item in imported] == [(5, "registered"), (7, "registered")]
    assert imported[0].household_id == imported_household_id(COMMUNITY, WANG[1])
    events = [stored.envelope for stored in await intake.store.read_all(limit=100)]
    assert sorted(envelope.type for envelope in events) == sorted(
        ["intake.HouseholdRegistered"] * 2 + ["intake.ResidentRegistered"] * 3
    )
    assert len({envelope.correlation_id for envelope in events}) == 1  # one command, one transaction
    wang = next(e.data for e in events if e.type == "intake.HouseholdRegistered" and e.data["head"]["name"] == "王秀英")
    assert wang["head"]["phone"].startswith("fz1.")  # sealed, never plaintext in an event
    assert await intake.sealer.unseal(wang["head"]["phone"], "phone") == "13812345678"
    assert await indexed_names(intake) == ["张桂兰", "李明", "王秀英"]


async def test_importing_the_same_sheet_again_registers_nothing_and_says_each_is_already_present(intake):
    await import_households(intake, sheet(WANG, ZHANG), context())
    events = await event_count(intake)

    again = await import_households(intake, sheet(WANG, ZHANG), context())

    assert [item.status for item in again] == ["already_present", "already_present"]
    assert await event_count(intake) == events


async def test_a_sheet_adding_one_household_to_an_imported_one_registers_only_the_new_one(intake):
    first = await import_households(intake, sheet(WANG), context())

    second = await import_households(intake, sheet(WANG, ZHANG), context())

    assert [item.status for item in second] == ["already_present", "registered"]
    assert second[0].household_id == first[0].household_id


async def test_a_household_registered_with_other_content_fails_the_whole_import_and_nothing_is_written(intake):
    await import_households(intake, sheet(WANG), context())
    events = await event_count(intake)
    wants_meals = (5, WANG[1], wang_xiuying(needs="老人助餐"))

    with pytest.raises(HouseholdsDiffer) as refused:
        await import_households(intake, sheet(wants_meals, ZHANG), context())

    assert refused.value.rows == [(5, "王秀英")]
    assert await event_count(intake) == events  # 张桂兰, new and valid, is not registered either
    assert await indexed_names(intake) == ["李明", "王秀英"]


async def test_a_household_changed_since_its_import_reads_as_present_when_the_sheet_shows_it_as_it_is_now(intake):
    [wang] = await import_households(intake, sheet(WANG), context())
    await change_household(intake, wang.household_id, 1, ChangeHousehold(needs="老人助餐"), context())

    as_exported_now = await import_households(intake, sheet((5, WANG[1], wang_xiuying(needs="老人助餐"))), context())

    assert [item.status for item in as_exported_now] == ["already_present"]


async def test_a_failure_half_way_through_the_transaction_writes_none_of_the_households(intake):
    # 张桂兰's resident record exists already (as if written by a concurrent writer): the
    # append fails at her, after 王秀英's rows, and must take 王秀英's rows back too.
    zhang_id = imported_household_id(COMMUNITY, ZHANG[1])
    [(resident_id, _)] = residents_of(zhang_id, RegisterHousehold.model_validate(ZHANG[2]))
    person = ResidentRecord(name="张桂兰", sex="2", birth_month="1949-11", ethnicity="01")
    registered = ResidentRegistered(resident_id=resident_id, person=person, address={"compound": "和平楼院", "building": "1栋"})
    await intake.store.append(resident_stream(resident_id), 0, [registered], context())

    with pytest.raises(ConcurrencyConflict):
        await import_households(intake, sheet(WANG, ZHANG), context())

    assert await event_count(intake) == 1
    assert await indexed_names(intake) == []
    async with intake.store.engine.connect() as conn:
        households = await conn.scalar(
            select(func.count()).select_from(intake.store.table).where(intake.store.table.c.stream_id.like("household-%"))
        )
    assert households == 0


async def stored_key_subjects(intake: Intake) -> list[str]:
    async with intake.store.engine.connect() as conn:
        return sorted((await conn.execute(select(subject_keys.c.subject_id))).scalars())


async def test_a_registration_stores_its_residents_keys_and_index_entries_with_its_events(intake):
    household_id = "9d1f4d1e-0000-4000-8000-000000000001"

    await register_household(intake, household_id, RegisterHousehold.model_validate(wang_xiuying()), context())

    [(head_id, _head), (_son_id, _son)] = residents_of(household_id, RegisterHousehold.model_validate(wang_xiuying()))
    assert await stored_key_subjects(intake) == [head_id]  # the son has nothing sealed, so no key
    assert await indexed_names(intake) == ["李明", "王秀英"]


async def test_a_registration_refused_as_stale_leaves_no_keys_and_no_index_entries(intake, monkeypatch):
    household_id = "9d1f4d1e-0000-4000-8000-000000000002"
    command = RegisterHousehold.model_validate(wang_xiuying())
    append_all = intake.store.append_all
    attempts = []

    async def refused_once(appends, context, occurred_at=None, *, alongside=None):
        attempts.append(len(appends))
        if len(attempts) == 1:
            raise ConcurrencyConflict(appends[0].stream_id, 0)
        return await append_all(appends, context, occurred_at, alongside=alongside)

    monkeypatch.setattr(intake.store, "append_all", refused_once)

    await register_household(intake, household_id, command, context())

    assert len(attempts) == 2
    assert len(await stored_key_subjects(intake)) == 1  # the head's from the second attempt only
    head = (await intake.store.load(resident_stream(residents_of(household_id, command)[0][0])))[0]
    assert await intake.sealer.unseal(head.data["person"]["phone"], "phone") == "13812345678"


async def test_a_registration_whose_residents_already_have_keys_seals_under_those(intake):
    """Keys left by an earlier attempt that stored nothing else (before keys went in the
    events' transaction): the registration uses them instead of failing."""
    household_id = "9d1f4d1e-0000-4000-8000-000000000003"
    command = RegisterHousehold.model_validate(wang_xiuying())
    head_id = residents_of(household_id, command)[0][0]
    await intake.sealer.seal_many([(head_id, "phone", "13900000000")])

    await register_household(intake, household_id, command, context())

    head = (await intake.store.load(resident_stream(head_id)))[0]
    assert await intake.sealer.unseal(head.data["person"]["phone"], "phone") == "13812345678"
    assert await stored_key_subjects(intake) == [head_id]  # the son has nothing sealed, so no key
