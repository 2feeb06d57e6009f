# CertLedger: the CA API (and, with `ocsp serve`, the OCSP responder) as a non-root user.
# Configured by environment (README, "Configuration"); read-model migrations run at start.
# BASE: any Debian-like image with python3 (3.11+) and its venv module; `make image-check`
# builds from one made with debootstrap when no registry is reachable.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# PIP_CERT: a CA bundle for pip where TLS to the package index is re-signed (a proxy)
ARG PIP_CERT=
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ca ca
COPY domain domain
COPY projections projections
COPY api api
COPY migrations migrations
RUN if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi \
 && python3 -m venv /opt/certledger \
 && /opt/certledger/bin/pip install --no-cache-dir --disable-pip-version-check ".[sm2-fast]"

FROM ${BASE}
RUN useradd --system --user-group --create-home --home-dir /var/lib/certledger certledger \
 && chmod 0700 /var/lib/certledger
COPY --from=build /opt/certledger /opt/certledger
COPY docker/entrypoint.sh /usr/local/bin/certledger-entrypoint
ENV PATH=/opt/certledger/bin:$PATH \
    CERTLEDGER_DATA_DIR=/var/lib/certledger \
    CERTLEDGER_BIND=0.0.0.0:8080 \
    CERTLEDGER_OCSP_BIND=0.0.0.0:8081 \
    CERTLEDGER_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER certledger
WORKDIR /var/lib/certledger
VOLUME ["/var/lib/certledger"]
EXPOSE 8080 8081
# liveness of whichever server runs (CERTLEDGER_HEALTH_PORT: 8081 for `ocsp serve`)
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python3 -c "import os,sys,urllib.request; port=os.environ.get('CERTLEDGER_HEALTH_PORT','8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"
# The key passphrase comes from CERTLEDGER_KEY_PASSPHRASE_FILE (mount it as a secret).
# First run: `docker run ... init --algorithm ecdsa-p256 --if-missing` (compose: the init service)
ENTRYPOINT ["certledger-entrypoint"]
CMD ["serve"]
