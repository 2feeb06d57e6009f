# PostgreSQL from Debian's packages, for `make image-check` where no registry serves
# postgres:15. Trust authentication on 127.0.0.1 only: a check, not a deployment.
ARG BASE=certledger-base:bookworm
FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends postgresql-15 >/dev/null && rm -rf /var/lib/apt/lists/*
COPY docker/postgres-check.sh /usr/local/bin/postgres-check
USER postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data PGPORT=55432
CMD ["postgres-check"]
