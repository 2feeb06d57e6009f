# CertLedger: the CA API served by gunicorn, as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ca ca
COPY domain domain
COPY projections projections
COPY api api
COPY migrations migrations
RUN pip install --no-cache-dir --prefix=/install ".[sm2-fast]"

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /var/lib/certledger certledger
COPY --from=build /install /usr/local
ENV CERTLEDGER_DATA_DIR=/var/lib/certledger \
    CERTLEDGER_BIND=0.0.0.0:8080 \
    PYTHONUNBUFFERED=1
USER certledger
WORKDIR /var/lib/certledger
VOLUME ["/var/lib/certledger"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
# The key passphrase comes from CERTLEDGER_KEY_PASSPHRASE_FILE (mount it as a secret).
# First run: docker run ... certledger init --algorithm ecdsa-p256
CMD ["certledger", "serve"]
