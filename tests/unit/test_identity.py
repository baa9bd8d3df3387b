"""The signed identity services trust, and the scope each role reaches."""

import time
from datetime import UTC, datetime

import jwt
import pytest

import shared.identity

from services.gateway.auth import decode_access_token, identity_for, issue_access_token
from services.gateway.org import Community, District, OrgChart, Street, User
from shared.identity import (
    IDENTITY_HEADER,
    Identity,
    IdentitySigner,
    InvalidIdentity,
    VerifiedIdentities,
    identity_from_headers,
    service_identity,
    sign_identity,
    verify_identity,
)
from shared.problems import ProblemError

SECRET = "unit-test-secret-of-at-least-32-bytes!"

FUCHENG = OrgChart(
    districts=(District("fucheng", "涪城区"),),
    streets=(Street("s-chengjiao", "fucheng", "城郊街道"), Street("s-gongqu", "fucheng", "工区街道")),
    communities=(
        Community("c-mianzhou", "s-chengjiao", "绵州社区"),
        Community("c-dongjin", "s-chengjiao", "东津社区"),
        Community("c-changhong", "s-gongqu", "长虹社区"),
    ),
)
ALL_COMMUNITIES = ("c-mianzhou", "c-dongjin", "c-changhong")


def user(role: str, **placement: str) -> User:
    fields = {"district_id": None, "street_id": None, "community_id": None, **placement}
    return User(
        id=f"u-{role}",
        username=role,
        password_hash="not used here",
        display_name="刘芳",
        role=role,
        duties=(),
        created_at=datetime.now(UTC),
        **fields,
    )


def worker_in_mianzhou() -> Identity:
    return identity_for(user("community_worker", community_id="c-mianzhou"), FUCHENG)


def test_a_signed_identity_verifies_to_the_same_identity():
    identity = identity_for(user("street_officer", street_id="s-chengjiao"), FUCHENG)

    assert verify_identity(sign_identity(identity, SECRET), SECRET) == identity


def test_a_tampered_identity_is_rejected():
    header, payload, signature = sign_identity(worker_in_mianzhou(), SECRET).split(".")
    forged = jwt.encode({"all_communities": True}, "an-attackers-own-key-of-32-bytes", algorithm="HS256")
    forged_claims = forged.split(".")[1]

    with pytest.raises(InvalidIdentity):
        verify_identity(f"{header}.{forged_claims}.{signature}", SECRET)


def test_an_identity_signed_with_another_secret_is_rejected():
    token = sign_identity(worker_in_mianzhou(), "another-secret-of-at-least-32-bytes!!")

    with pytest.raises(InvalidIdentity):
        verify_identity(token, SECRET)


def test_an_expired_identity_is_rejected():
    token = sign_identity(worker_in_mianzhou(), SECRET, ttl_s=-60)

    with pytest.raises(InvalidIdentity):
        verify_identity(token, SECRET)


def test_a_users_access_token_is_not_an_identity_for_services():
    token = issue_access_token(user("district_admin", district_id="fucheng"), SECRET)

    with pytest.raises(InvalidIdentity):
        verify_identity(token, SECRET)


def test_an_identity_without_expiry_is_rejected():
    claims = worker_in_mianzhou().model_dump(mode="json", exclude={"subject"})
    claims.update(sub="u-community_worker", iss="fivezero-gateway", aud="fivezero-services", iat=int(time.time()))

    with pytest.raises(InvalidIdentity):
        verify_identity(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_not_an_identity(garbage):
    with pytest.raises(InvalidIdentity):
        verify_identity(garbage, SECRET)


@pytest.mark.parametrize(
    ("role", "placement", "visible"),
    [
        ("district_admin", {"district_id": "fucheng"}, ALL_COMMUNITIES),
        ("street_officer", {"street_id": "s-chengjiao"}, ("c-mianzhou", "c-dongjin")),
        ("community_head", {"community_id": "c-mianzhou"}, ("c-mianzhou",)),
        ("community_worker", {"community_id": "c-dongjin"}, ("c-dongjin",)),
        ("mediator", {"community_id": "c-mianzhou"}, ("c-mianzhou",)),
        ("auditor", {"community_id": "c-mianzhou"}, ("c-mianzhou",)),
    ],
)
def test_each_role_sees_exactly_the_communities_of_its_placement(role, placement, visible):
    identity = identity_for(user(role, **placement), FUCHENG)

    assert {c for c in ALL_COMMUNITIES if identity.can_see(c)} == set(visible)
    assert not identity.can_see("c-somewhere-else") or role == "district_admin"


def test_the_district_admin_reaches_communities_added_after_signing():
    admin = identity_for(user("district_admin", district_id="fucheng"), FUCHENG)

    assert admin.all_communities and admin.can_see("c-opened-next-year")


def test_a_user_placed_nowhere_sees_nothing():
    identity = identity_for(user("community_worker", community_id="c-gone"), FUCHENG)

    assert not any(identity.can_see(c) for c in ALL_COMMUNITIES)


def test_a_user_with_an_unknown_role_has_no_role_and_no_scope():
    identity = identity_for(user("service", district_id="fucheng", community_id="c-mianzhou"), FUCHENG)

    assert identity.roles == () and not identity.is_service
    assert not any(identity.can_see(c) for c in ALL_COMMUNITIES)


@pytest.mark.parametrize(
    ("role", "placement", "may_write"),
    [
        ("community_worker", {"community_id": "c-mianzhou"}, True),
        ("community_head", {"community_id": "c-mianzhou"}, True),
        ("auditor", {"community_id": "c-mianzhou"}, False),
        ("mediator", {"community_id": "c-mianzhou"}, False),
        ("street_officer", {"street_id": "s-chengjiao"}, False),
        ("district_admin", {"district_id": "fucheng"}, False),
        ("community_worker", {"community_id": "c-dongjin"}, False),
    ],
)
def test_only_the_communitys_own_workers_and_head_write_its_records(role, placement, may_write):
    identity = identity_for(user(role, **placement), FUCHENG)

    assert identity.can_write("c-mianzhou") is may_write


def test_an_auditor_never_writes_even_with_a_writer_role_beside():
    identity = worker_in_mianzhou().model_copy(update={"roles": ("community_worker", "auditor")})

    assert not identity.can_write("c-mianzhou")


def test_a_service_identity_sees_every_community_and_keeps_no_books():
    intake = service_identity("intake")

    assert intake.is_service and intake.subject == "service:intake"
    assert all(intake.can_see(c) for c in ALL_COMMUNITIES)
    assert not intake.can_write("c-mianzhou")
    assert verify_identity(sign_identity(intake, SECRET), SECRET) == intake


def test_has_role_matches_any_of_the_roles_named():
    identity = worker_in_mianzhou()

    assert identity.has_role("community_head", "community_worker")
    assert not identity.has_role("district_admin", "auditor")


def test_a_service_reads_the_identity_from_the_request_headers():
    identity = worker_in_mianzhou()

    assert identity_from_headers({IDENTITY_HEADER: sign_identity(identity, SECRET)}, SECRET) == identity


@pytest.mark.parametrize("headers", [{}, {IDENTITY_HEADER: "forged"}])
def test_a_request_without_a_valid_identity_is_a_401_problem(headers):
    with pytest.raises(ProblemError) as raised:
        identity_from_headers(headers, SECRET)

    assert raised.value.status == 401


def test_a_verified_identity_is_remembered_only_until_its_token_expires(monkeypatch):
    identities = VerifiedIdentities(SECRET)
    token = sign_identity(worker_in_mianzhou(), SECRET, ttl_s=60)

    assert identities.verify(token) == identities.verify(token) == worker_in_mianzhou()
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)

    def expired(token: str, secret: str):
        raise InvalidIdentity("Signature has expired")

    monkeypatch.setattr(shared.identity, "_verify", expired)  # PyJWT reads its own clock
    with pytest.raises(InvalidIdentity):
        identities.verify(token)


def test_remembered_identities_still_refuse_a_forged_token():
    identities = VerifiedIdentities(SECRET)
    identities.verify(sign_identity(worker_in_mianzhou(), SECRET))
    forged = sign_identity(worker_in_mianzhou(), "another-secret-of-at-least-32-bytes!!")

    with pytest.raises(InvalidIdentity):
        identities.verify(forged)


def test_a_users_verified_access_token_is_remembered_only_until_it_expires(monkeypatch):
    worker = user("community_worker", community_id="c-mianzhou")
    token = issue_access_token(worker, SECRET, ttl_s=60)

    assert decode_access_token(token, SECRET) == decode_access_token(token, SECRET) == worker.id
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)

    def expired(*_args, **_kwargs):
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)  # PyJWT reads its own clock
    with pytest.raises(ProblemError) as raised:
        decode_access_token(token, SECRET)
    assert raised.value.status == 401


def test_remembered_access_tokens_still_refuse_a_forged_one():
    worker = user("community_worker", community_id="c-mianzhou")
    decode_access_token(issue_access_token(worker, SECRET), SECRET)
    forged = issue_access_token(worker, "another-secret-of-at-least-32-bytes!!")

    with pytest.raises(ProblemError) as raised:
        decode_access_token(forged, SECRET)
    assert raised.value.status == 401


def test_the_gateway_reuses_a_callers_signed_identity_and_signs_a_changed_one_anew():
    signer = IdentitySigner(SECRET)
    worker = worker_in_mianzhou()
    auditor = worker.model_copy(update={"roles": ("auditor",)})

    assert signer.token(worker) == signer.token(worker)
    assert verify_identity(signer.token(auditor), SECRET) == auditor
