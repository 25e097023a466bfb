"""Stage 3, the release: bump, gates, ordered steps with a journal, publishing, and the release train."""
