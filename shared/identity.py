"""Who is calling: the identity the gateway signs and every service verifies.

The gateway resolves a user's scope once, signs it as a short-lived JWT in the
`X-FiveZero-Identity` header, and each service checks the signature and the
community scope again itself. Access is denied unless a rule here allows it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.problems import ProblemError

IDENTITY_HEADER = "X-FiveZero-Identity"
ISSUER = "fivezero-gateway"
SERVICES_AUDIENCE = "fivezero-services"
_ALGORITHM = "HS256"
# Gateway and services run on different machines whose clocks drift a little.
_CLOCK_SKEW_S = 5

DISTRICT_ADMIN = "district_admin"
STREET_OFFICER = "street_officer"
COMMUNITY_HEAD = "community_head"
COMMUNITY_WORKER = "community_worker"
MEDIATOR = "mediator"
AUDITOR = "auditor"
SERVICE = "service"
USER_ROLES = (DISTRICT_ADMIN, STREET_OFFICER, COMMUNITY_HEAD, COMMUNITY_WORKER, MEDIATOR, AUDITOR)

REENTRY_DUTY = "reentry"

_COMMUNITY_WRITERS = (COMMUNITY_WORKER, COMMUNITY_HEAD)
_REGISTERED_CLAIMS = ("iss", "aud", "iat", "exp", "sub")


class InvalidIdentity(Exception):
    """The identity token is missing, malformed, forged, expired or not meant for services."""


class Identity(BaseModel):
    """A caller and the communities it may reach.

    `district_id` is where the caller belongs; district-wide reach is
    `all_communities`, which also covers communities created after signing.
    `street_ids` are the streets the caller oversees as a whole.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    username: str
    roles: tuple[str, ...]
    district_id: str | None
    street_ids: tuple[str, ...]
    community_ids: tuple[str, ...]
    all_communities: bool = False
    duties: tuple[str, ...] = ()
    display_name: str = ""
    """The user's name as records show it (张志强); empty for services and older gateways."""

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def is_service(self) -> bool:
        return SERVICE in self.roles

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def has_duty(self, duty: str) -> bool:
        return duty in self.duties

    def can_see(self, community_id: str) -> bool:
        return self.all_communities or community_id in self.community_ids

    def can_write(self, community_id: str) -> bool:
        """May change the community's records (households, residents, reports…).

        Pillar-specific actors (a mediator on a dispute) are checked by the pillar;
        street and district staff oversee but do not keep a community's books.
        """
        if self.has_role(AUDITOR):
            return False
        return self.has_role(*_COMMUNITY_WRITERS) and self.can_see(community_id)


def service_identity(name: str) -> Identity:
    """The identity one service uses when it calls another."""
    return Identity(
        subject=f"service:{name}",
        username=name,
        roles=(SERVICE,),
        district_id=None,
        street_ids=(),
        community_ids=(),
        all_communities=True,
    )


def sign_identity(identity: Identity, secret: str, ttl_s: int = 60) -> str:
    now = int(time.time())
    claims = identity.model_dump(mode="json", exclude={"subject"})
    claims.update(sub=identity.subject, iss=ISSUER, aud=SERVICES_AUDIENCE, iat=now, exp=now + ttl_s)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_identity(token: str, secret: str) -> Identity:
    return _verify(token, secret)[0]


def _verify(token: str, secret: str) -> tuple[Identity, float]:
    """The identity and the time (epoch seconds) after which its token is refused."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=SERVICES_AUDIENCE,
            issuer=ISSUER,
            leeway=_CLOCK_SKEW_S,
            options={"require": list(_REGISTERED_CLAIMS)},
        )
        # Claims a newer gateway adds are ignored, so services can be upgraded later.
        fields = {name: claims[name] for name in Identity.model_fields if name in claims}
        return Identity.model_validate({**fields, "subject": claims["sub"]}), claims["exp"] + _CLOCK_SKEW_S
    except (jwt.PyJWTError, ValidationError, TypeError, ValueError) as error:
        raise InvalidIdentity(str(error)) from error


class IdentitySigner:
    """The gateway's signed identity per caller, reused for a while: signing costs CPU on
    every request, and a service verifies a token it has seen before from its cache."""

    def __init__(self, secret: str, ttl_s: int = 60, reuse_s: float = 30, size: int = 4096):
        self.secret, self.ttl_s, self.reuse_s, self.size = secret, ttl_s, reuse_s, size
        self._signed: dict[Identity, tuple[str, float]] = {}

    def token(self, identity: Identity) -> str:
        now = time.time()
        known = self._signed.get(identity)
        if known is not None and now < known[1]:
            return known[0]
        if len(self._signed) >= self.size:
            self._signed.clear()
        token = sign_identity(identity, self.secret, self.ttl_s)
        self._signed[identity] = (token, now + self.reuse_s)
        return token


class VerifiedIdentities:
    """Identity tokens already verified, each kept only until it expires: the signature and
    the claims are checked once per token, not once per request."""

    def __init__(self, secret: str, size: int = 4096):
        self.secret, self.size = secret, size
        self._verified: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str) -> Identity:
        """The token's identity; raises InvalidIdentity as `verify_identity` does."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        identity, refused_after = _verify(token, self.secret)
        if len(self._verified) >= self.size:
            self._verified.clear()
        self._verified[token] = (identity, refused_after)
        return identity


def identity_from_headers(headers: Mapping[str, str], secret: str) -> Identity:
    """The verified identity of a request to a service; 401 problem otherwise."""
    token = headers.get(IDENTITY_HEADER) or headers.get(IDENTITY_HEADER.lower())
    if not token:
        raise ProblemError("unauthenticated")
    try:
        return verify_identity(token, secret)
    except InvalidIdentity:
        raise ProblemError("unauthenticated") from None
