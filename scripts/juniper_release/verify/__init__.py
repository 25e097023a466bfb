"""Stage 2, verification: clean builds, the Pythons to verify on, fresh environments, install-and-smoke, the cache and the scheduler."""
