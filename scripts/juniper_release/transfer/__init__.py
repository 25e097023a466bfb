"""The organization transfer: the dry-run-first codemod and the live checklist."""
