"""The console script ``juniper-release``: a thin front door over the engine."""
