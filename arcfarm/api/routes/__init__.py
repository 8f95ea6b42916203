"""One router per resource: runs (and their tasks, submission, cancel), health."""
