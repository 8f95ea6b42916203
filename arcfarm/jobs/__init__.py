"""The producer side of the farm: turning a submission into run, task and job rows and sending
their queue messages (Celery or the embedded queue), and reconciling the queue with the database.
Used by the API and the CLI; the consumer side is `arcfarm.workers`."""
