"""Stage 1, the ecosystem: the registry, what each checkout declares, the graph, tags, indexes, checks, status."""
