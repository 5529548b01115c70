"""Gunicorn settings for Torget (`gunicorn -c deploy/gunicorn.conf.py 'torget.app:create_app()'`).

Torget's own settings are read only by torget.config. This file is the one
exception that reads os.environ: it configures the server process around the
app (bind address, worker count, proxy trust), which gunicorn needs before the
app exists.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

# Do not import prometheus_client at the top of this file: it picks its value
# storage (per-process memory or multiprocess files) from PROMETHEUS_MULTIPROC_DIR
# when first imported, and the workers are forked from this master process, so an
# import here before the variable is set below would leave every worker counting
# in private memory that /metrics never sees.

# Loopback by default: a local run is not exposed to the network. Containers
# set TORGET_BIND=0.0.0.0:8000 so the platform's proxy can reach the workers.
bind = os.environ.get("TORGET_BIND", "127.0.0.1:5000")

# WEB_CONCURRENCY is the conventional knob platforms set from the CPU quota.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# The app writes one structured line per request itself (torget.request_log);
# gunicorn's access log would duplicate every request in another format.
accesslog = None
# Server errors (worker boots, crashes, timeouts) go to stderr with the app's logs.
errorlog = "-"

# A worker silent for 30 s is stuck; gunicorn kills and replaces it.
timeout = 30

# Only the reverse proxy in front of us may set X-Forwarded-* (scheme, client
# address); anyone else could spoof HTTPS or their IP. Set it to the proxy's
# address (or the pod network) when the proxy is not on loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Gunicorn's control socket (for `gunicornc`) defaults to a fixed path,
# $HOME/.gunicorn/gunicorn.ctl: two instances on one host would fight over it,
# and a read-only root filesystem (deploy/k8s) cannot create it. Nothing here
# uses it; manage workers with signals (HUP, TTIN/TTOU) instead.
control_socket_disable = True

# Several worker processes each hold their own metrics. prometheus_client's
# multiprocess mode has each write its figures to files in this directory, and
# /metrics sums them. The variable must be set before the workers import the
# app (and prometheus_client), so it is set here, when the config is loaded in
# the master: the workers inherit it. torget.config reads it from there.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Path.cwd() / "instance" / "prometheus")
PROMETHEUS_MULTIPROC_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Arbiter) -> None:
    """Start from an empty metrics directory.

    Files left by a previous run would be summed into this run's counters (and
    their dead pids never cleaned up). Only the contents are removed, so the
    directory may itself be a mount point (an emptyDir in Kubernetes).
    """
    if PROMETHEUS_MULTIPROC_DIR.is_dir():
        for entry in PROMETHEUS_MULTIPROC_DIR.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
    server.log.info("prometheus multiprocess dir: %s", PROMETHEUS_MULTIPROC_DIR)


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Tell prometheus_client a worker is gone.

    Its live gauges (e.g. in-progress requests) must stop counting; its
    counters and histograms stay in the files so totals do not go backwards.
    """
    from prometheus_client import multiprocess  # imported late: see the note on imports above

    multiprocess.mark_process_dead(worker.pid)
