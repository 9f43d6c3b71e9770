"""The relay's one RQ queue (it carries the scheduled prunes), always with JSON payloads.

RQ pickles a job's arguments and result by default, and unpickling runs code: anyone able to
write one key into Redis could then run code in every worker. JSON cannot. The prune job takes
a target name and two numbers and returns a string, so nothing is lost. The worker, whoever
enqueues, and the dashboard reading the registries all use this module, so they agree.
"""

from __future__ import annotations

import redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from relay.core import keys

SERIALIZER = JSONSerializer


def job_queue(client: redis.Redis) -> Queue:
    return Queue(keys.QUEUE, connection=client, serializer=SERIALIZER)


def queue_workers(client: redis.Redis) -> list[Worker]:
    """The RQ workers registered in Redis (one per relay worker process)."""
    return [
        w for w in Worker.all(connection=client, serializer=SERIALIZER) if isinstance(w, Worker)
    ]
