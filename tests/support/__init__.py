"""Helpers shared by the test suite: local servers, ports, readiness checks."""
