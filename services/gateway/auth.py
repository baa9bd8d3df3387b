"""Who the caller is: passwords, user access tokens, and the scope a user's role reaches.

User tokens (audience `fivezero-api`) are for clients; the identity the gateway
signs for services (`shared.identity`, audience `fivezero-services`) is another
token, so neither can stand in for the other.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Protocol, runtime_checkable

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request
from litestar.di import NamedDependency
from litestar.openapi.spec import SecurityScheme
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.org import Db, OrgChart, User, get_user, get_user_by_username, recent_org_chart
from shared.identity import DISTRICT_ADMIN, ISSUER, STREET_OFFICER, USER_ROLES, Identity
from shared.problems import ProblemError

API_AUDIENCE = "fivezero-api"
BEARER_SCHEME = "BearerToken"
ACCESS_TOKEN_TTL_S = 3600
_ALGORITHM = "HS256"

_hasher = PasswordHasher()
# Each argon2 hash holds 64 MiB while it runs: a burst of logins must not exhaust memory.
_hashing_slots = threading.BoundedSemaphore(4)


@runtime_checkable  # Litestar checks injected values with isinstance
class TokenSettings(Protocol):
    """What the gateway's settings must offer to issue and check tokens."""

    secret: str
    token_ttl_s: int


# Parameter types for what the gateway injects by name: `gateway_engine`, `settings`, `identity`.
GatewayEngine = NamedDependency[AsyncEngine]
InjectedSettings = NamedDependency[TokenSettings]
Caller = NamedDependency[Identity]


def openapi_security_schemes() -> dict[str, SecurityScheme]:
    """For `OpenAPIConfig(components=Components(security_schemes=...))`: the scheme protected routes name."""
    return {BEARER_SCHEME: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}


def hash_password(password: str) -> str:
    with _hashing_slots:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _hashing_slots:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return hash_password("not anyone's password")


async def authenticate(db: Db, username: str, password: str) -> User | None:
    """The user these credentials belong to, or None; argon2 runs off the event loop."""
    user = await get_user_by_username(db, username)
    # An unknown user still costs one verification, so timing does not reveal who exists.
    password_hash = user.password_hash if user else await anyio.to_thread.run_sync(_decoy_hash)
    matches = await anyio.to_thread.run_sync(verify_password, password_hash, password)
    return user if user and matches else None


def issue_access_token(user: User, secret: str, ttl_s: int = ACCESS_TOKEN_TTL_S) -> str:
    now = int(time.time())
    claims = {"sub": user.id, "iss": ISSUER, "aud": API_AUDIENCE, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


# (secret, token) → (user id, expiry in epoch seconds) of tokens already verified.
_verified_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_VERIFIED_TOKENS_KEPT = 4096


def decode_access_token(token: str, secret: str) -> str:
    """The user id a valid, unexpired access token names; 401 problem otherwise. The
    signature and claims are checked once per token, which is then kept until it expires
    (as `shared.identity.VerifiedIdentities` does); the user behind it is still read on
    every request (`current_identity`)."""
    known = _verified_tokens.get((secret, token))
    if known is not None and time.time() < known[1]:
        return known[0]
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=API_AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "iss", "aud", "exp"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError):
        raise _unauthenticated() from None
    if len(_verified_tokens) >= _VERIFIED_TOKENS_KEPT:
        _verified_tokens.clear()
    _verified_tokens[secret, token] = (claims["sub"], claims["exp"])
    return claims["sub"]


def identity_for(user: User, org: OrgChart) -> Identity:
    """The identity a user acts with: its role, and the communities its placement reaches.

    A role this gateway does not know (a typo, or "service" in a user row) reaches nothing.
    """
    known_role = user.role in USER_ROLES
    district_id, street_ids, community_ids = _reach(user, org) if known_role else (None, (), ())
    return Identity(
        subject=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=(user.role,) if known_role else (),
        district_id=district_id,
        street_ids=street_ids,
        community_ids=community_ids,
        all_communities=user.role == DISTRICT_ADMIN and district_id is not None,
        duties=user.duties,
    )


def _reach(user: User, org: OrgChart) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """(district it belongs to, streets it oversees, communities it may see)."""
    if user.role == DISTRICT_ADMIN:
        district = org.district(user.district_id)
        if district is None:
            return None, (), ()
        return (
            district.id,
            tuple(s.id for s in org.streets_of_district(district.id)),
            tuple(c.id for c in org.communities_of_district(district.id)),
        )
    if user.role == STREET_OFFICER:
        street = org.street(user.street_id)
        if street is None:
            return None, (), ()
        return street.district_id, (street.id,), tuple(c.id for c in org.communities_of_street(street.id))
    community = org.community(user.community_id)
    if community is None:
        return None, (), ()
    street = org.street(community.street_id)
    return (street.district_id if street else None), (), (community.id,)


async def current_identity(
    request: Request,
    gateway_engine: GatewayEngine,
    settings: InjectedSettings,
) -> Identity:
    """Litestar dependency: the caller behind `Authorization: Bearer <token>`, or a 401 problem.

    Not cached: a changed role or a removed user takes effect on the next request.
    """
    user_id = decode_access_token(_bearer_token(request.headers.get("authorization")), settings.secret)
    async with gateway_engine.connect() as conn:
        user = await get_user(conn, user_id)
        if user is None:
            raise _unauthenticated()
        org = await recent_org_chart(conn)
    return identity_for(user, org)


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated()
    return token.strip()


def _unauthenticated() -> ProblemError:
    return ProblemError("unauthenticated", headers={"WWW-Authenticate": "Bearer"})
