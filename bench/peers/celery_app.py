"""The Celery side of bench/grid_vs_peers.py: a Redis broker and result
backend, pickle for binary payloads (JSON cannot carry bytes)."""

import os

from celery import Celery

from peers.common import spin_python

app = Celery("bench", broker=os.environ["BENCH_REDIS"], backend=os.environ["BENCH_REDIS"])
app.conf.update(
    task_serializer="pickle", result_serializer="pickle", accept_content=["pickle"],
    result_expires=3600, broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task
def noop(data):
    return data


@app.task
def spin(ms):
    spin_python(ms)
    return ms
