"""Stage 2, verification: clean builds, fresh environments, install-and-smoke, the cache and the scheduler."""
