"""The sandbox: a generated stand-in ecosystem, a fake GitHub, local indexes and the rehearsal (never imported by the engine)."""
