"""Published event schemas, one module per pillar, so others read them without importing the pillar."""
