"""The Flask application factory."""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask

from api.context import EXTENSION
from api.errors import (
    refuse_nul_in_the_url,
    refuse_writes_on_a_broken_log,
    register_error_handlers,
)
from api.settings import Settings
from api.text import install_log_escaping

__all__ = ["create_app"]

log = logging.getLogger("certledger.api")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` may carry ``CERTLEDGER`` (a ready :class:`CertLedger`, as
    tests pass) and ``SETTINGS``; without them both come from the environment.
    ``RUN_PROCESSES`` (default: the setting, off for ``TESTING`` apps) starts the
    projection runner and the processes in this process."""
    from api import (
        admin,
        admin_webhooks,
        audit_endpoints,
        bindings,
        crl_endpoints,
        observability,
        ocsp_endpoints,
        openapi,
        public,
        public_services,
        ra_accounts,
        ra_certificates,
        ra_messages,
        ra_order_lists,
        ra_orders,
        ra_pairs,
        ra_unlock,
    )
    from api.bootstrap import bootstrap

    install_log_escaping()  # request data in log lines cannot start a line of its own
    app = Flask("certledger")
    app.config.update(config or {})
    ledger = app.config.get("CERTLEDGER")
    settings = app.config.setdefault(
        "SETTINGS", ledger.settings if ledger is not None else Settings.from_env())
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    ledger = ledger or bootstrap(settings)
    app.extensions[EXTENSION] = ledger
    register_error_handlers(app)
    for blueprint in (ra_certificates.blueprint, ra_pairs.blueprint, ra_accounts.blueprint,
                      ra_orders.blueprint, ra_order_lists.blueprint, ra_unlock.blueprint,
                      ra_messages.blueprint, admin.blueprint,
                      openapi.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(public.blueprint)
    app.register_blueprint(public_services.blueprint)
    app.register_blueprint(bindings.blueprint)
    app.register_blueprint(admin_webhooks.blueprint)
    app.register_blueprint(ocsp_endpoints.blueprint)
    app.register_blueprint(crl_endpoints.blueprint)
    app.register_blueprint(observability.blueprint)
    observability.install(app)
    app.register_blueprint(audit_endpoints.blueprint)
    read = ledger.read  # the read-model store, migrated
    read.integrity.check()  # the log against its signed tree heads, before anything signs
    app.before_request(refuse_nul_in_the_url)
    app.before_request(refuse_writes_on_a_broken_log)
    run = app.config.get("RUN_PROCESSES")
    if run is None:
        run = settings.run_processes and not app.testing
    if run:
        read.start()
        atexit.register(read.stop)
    logging.getLogger("certledger").setLevel(logging.INFO)
    return app
