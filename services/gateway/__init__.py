"""The gateway: the one public API: identity, access, routing, cross-pillar views."""
