"""GitHub: the REST adapter (the one place that talks to GitHub) and the rendered workflows."""
