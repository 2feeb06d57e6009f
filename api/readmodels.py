"""Wiring of the read models and CRL publishing, for the API process and the CLI.

:func:`build_read_models` opens the read-model store, applies pending migrations,
makes the runner over every registered read model, and the CRL publisher and its
scheduler (the CRL read model tells the scheduler which CAs changed). :func:`install`
does that for a Flask app and, unless switched off, starts the runner thread and the
scheduler in the process: ``PROJECTIONS_RUNNER`` in the app config, else the
environment's ``CERTLEDGER_PROJECTIONS`` (``off`` when a dedicated
``certledger projections run`` does the work); test apps (``TESTING``) start neither
unless asked.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ca.applications.crl_publisher import CrlPublisher, CrlUnavailable
from ca.processes.crl_publication import CrlScheduler, CrlSettings
from projections.crl import CRL_MODEL, CrlReadModel
from projections.crl_store import CrlStore
from projections.db import ReadModelDatabase, open_read_model_database
from projections.migrate import migrate
from projections.ocsp import OcspReadModel
from projections.registry import read_models
from projections.runner import ProjectionRunner

__all__ = ["ReadModels", "build_read_models", "crl_sync", "install", "EXTENSION"]

log = logging.getLogger("certledger.projections")
EXTENSION = "certledger.readmodels"


@dataclass
class ReadModels:
    database: ReadModelDatabase
    runner: ProjectionRunner
    crl_store: CrlStore
    publisher: CrlPublisher
    scheduler: CrlScheduler

    def start(self) -> None:
        """The runner thread and the CRL schedule, in this process."""
        self.runner.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.runner.stop()


def crl_sync(runner: ProjectionRunner, timeout: float) -> Callable[[], None]:
    """Bring the CRL read model up to the log's current head before a publication:
    wait for the runner thread if it runs here, else catch up here (safe whoever else
    runs one). CrlUnavailable if it cannot, rather than sign an outdated state."""

    def sync() -> None:
        head = runner.head()
        if runner.running:
            reached = runner.wait_for(head, timeout, names=[CRL_MODEL])
        else:  # only the CRL model: another model's trouble must not hold CRLs back
            runner.catch_up(names=[CRL_MODEL])
            reached = runner.positions([CRL_MODEL])[CRL_MODEL] >= head
        if not reached:
            raise CrlUnavailable("the CRL read model is behind the event log; try again",
                                 code="read_model_behind")

    return sync


def build_read_models(service: Any, *, crl_settings: CrlSettings | None = None,
                      database: ReadModelDatabase | None = None) -> ReadModels:
    database = database or open_read_model_database(service.settings.database_url,
                                                     service.settings.data_dir)
    migrate(database)
    runner = ProjectionRunner(service, database, read_models(service, database))
    settings = crl_settings or CrlSettings.from_env()
    store = CrlStore(database)
    publisher = CrlPublisher(service, store, settings,
                             sync=crl_sync(runner, settings.sync_timeout))
    ocsp_model = runner.models.get(OcspReadModel.name)
    periodic = [("ocsp-maintain", ocsp_model.maintain, 60.0)] \
        if isinstance(ocsp_model, OcspReadModel) else []
    scheduler = CrlScheduler(publisher, settings, periodic)
    crl_model = runner.models.get(CRL_MODEL)
    if isinstance(crl_model, CrlReadModel):
        crl_model.listen(scheduler.changed)
    return ReadModels(database, runner, store, publisher, scheduler)


def install(app: Flask, service: Any) -> ReadModels:
    """Build the read models for ``app``; start them when this process should."""
    built = build_read_models(service, crl_settings=app.config.get("CRL_SETTINGS"))
    app.extensions[EXTENSION] = built
    wanted = app.config.get("PROJECTIONS_RUNNER")
    if wanted is None:
        wanted = (os.environ.get("CERTLEDGER_PROJECTIONS", "on").lower()
                  not in ("0", "off", "false", "no") and not app.testing)
    if wanted:
        built.start()
        atexit.register(built.stop)
        log.info("projection runner and CRL schedule started in this process")
    return built
