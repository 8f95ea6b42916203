"""The producer side of the farm: turning a submission into run, task and job rows (`submit`),
sending their queue messages (`queue`, with the message contract in `broker`), and reconciling
the queue with the database (`submit.reconcile`, run periodically by `reconciler`).

Used by the API and the CLI; the consumer side is `arcfarm.workers`, which this package never
imports (nor torch, nor Celery until a message is sent).
"""
