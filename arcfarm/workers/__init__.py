"""The consumer side of the farm: the Celery app and task, the job runner, the supervisor."""
