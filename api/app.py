"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from api.errors import register_error_handlers
from api.settings import Settings
from api.text import install_log_escaping

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` may carry ``SERVICE`` (a ready CAService, as tests pass)
    and ``SETTINGS``; without them both come from the environment."""
    from api import crl, ocsp, public, ra
    from api.bootstrap import bootstrap
    from api.readmodels import install as install_read_models

    install_log_escaping()  # request data in log lines cannot start a line of its own
    app = Flask("certledger")
    app.config.update(config or {})
    settings = app.config.setdefault("SETTINGS", Settings.from_env())
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    service = app.config.get("SERVICE") or bootstrap(settings)
    app.extensions["certledger"] = service
    register_error_handlers(app)
    app.register_blueprint(ra.blueprint)
    app.register_blueprint(public.blueprint)
    app.register_blueprint(ocsp.blueprint)
    app.register_blueprint(crl.blueprint)
    install_read_models(app, service)  # migrations; runner + CRL schedule unless disabled
    logging.getLogger("certledger").setLevel(logging.INFO)
    return app
