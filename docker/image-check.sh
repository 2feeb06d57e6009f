#!/usr/bin/env bash
# make image-check: build the image and run it, alone (SQLite) and as docker-compose.yml's
# services (PostgreSQL, a one-shot init, the API, a separate OCSP responder). Not part of
# `make test`. Needs a running Docker engine (`apt-get install docker.io`, then dockerd).
# With no registry reachable, the base image is made from Debian packages by debootstrap
# and `docker import`. Everything listens on 127.0.0.1 (host network).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '== %s\n' "$*"; }
fail() { printf 'image-check FAILED: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || fail "no Docker engine answers (start dockerd)"
BASE=${BASE:-}
if [ -z "$BASE" ]; then
  if docker image inspect python:3.11-slim >/dev/null 2>&1 \
      || timeout 60 docker pull -q python:3.11-slim >/dev/null 2>&1; then
    BASE=python:3.11-slim
  else
    BASE=certledger-base:bookworm
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
      say "no registry: making $BASE with debootstrap (Debian bookworm, python3)"
      command -v debootstrap >/dev/null || fail "debootstrap is not installed"
      root=$(mktemp -d /var/tmp/certledger-rootfs.XXXXXX)
      debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$root" http://deb.debian.org/debian >/dev/null
      tar -C "$root" -c . | docker import - "$BASE" >/dev/null
      rm -rf "$root"
    fi
  fi
fi
# pip inside the build trusts what this host trusts: here the package index may be reached
# through a TLS proxy whose CA is in the host's bundle only (public certificates, no secret)
context=$(mktemp -d)
cp /etc/ssl/certs/ca-certificates.crt "$context/host-ca.crt"
printf 'FROM %s\nCOPY host-ca.crt /etc/ssl/certs/host-ca.crt\n' "$BASE" > "$context/Dockerfile"
docker build -q -t certledger-base:check "$context" >/dev/null
rm -rf "$context"
say "building certledger:check FROM $BASE (+ the host's CA bundle for pip)"
docker build -q --network host --build-arg BASE=certledger-base:check \
  --build-arg PIP_CERT=/etc/ssl/certs/host-ca.crt -t certledger:check . >/dev/null

say "the image: user, health check, entrypoint"
user=$(docker run --rm --network none --entrypoint id certledger:check -u)
[ "$user" != 0 ] || fail "runs as root"
docker inspect -f '{{json .Config.Healthcheck.Test}}' certledger:check | grep -q healthz \
  || fail "no HEALTHCHECK"
echo "   uid $user, HEALTHCHECK on /healthz"

PASS=$(head -c 24 /dev/urandom | base64)
run=(docker run --network host -e CERTLEDGER_KEY_PASSPHRASE="$PASS" -v certledger-check:/var/lib/certledger)
cleanup() {
  docker rm -f certledger-check >/dev/null 2>&1 || true
  docker volume rm certledger-check >/dev/null 2>&1 || true
  [ -f docker/check-secrets/key-passphrase ] && \
    docker-compose -p certledger-check -f docker/compose.check.yml down -v >/dev/null 2>&1 || true
  rm -rf docker/check-secrets
}
trap cleanup EXIT
cleanup

wait_for() {  # URL [SECONDS]
  for _ in $(seq 1 "${2:-60}"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 1
  done
  fail "$1 did not answer"
}

say "alone, on SQLite: init (one-shot), then serve with migrations at start"
"${run[@]}" --rm certledger:check init --if-missing >/dev/null
"${run[@]}" -d --name certledger-check -e CERTLEDGER_BIND=127.0.0.1:58090 \
  -e CERTLEDGER_HEALTH_PORT=58090 certledger:check >/dev/null
wait_for http://127.0.0.1:58090/healthz
wait_for http://127.0.0.1:58090/readyz 60
curl -fsS http://127.0.0.1:58090/ca/issuing-ca.crt | openssl x509 -inform DER -noout -subject
curl -fsS -o /dev/null http://127.0.0.1:58090/crl/issuing-ca.crl && echo "   CRL served"
curl -fsS http://127.0.0.1:58090/metrics | grep -q '^certledger_database_up 1' \
  && echo "   /metrics: database up"
docker logs certledger-check 2>&1 | tail -n 1 | python3 -c 'import json,sys; json.loads(sys.stdin.read()); print("   logs are JSON lines")'
for _ in $(seq 1 40); do
  health=$(docker inspect -f '{{.State.Health.Status}}' certledger-check)
  [ "$health" = healthy ] && break
  sleep 1
done
echo "   docker health: $health"
[ "$health" = healthy ] || fail "the container never became healthy"
docker rm -f certledger-check >/dev/null

say "docker-compose.yml (as docker/compose.check.yml: host network, Debian's PostgreSQL)"
docker-compose -f docker-compose.yml config -q && echo "   docker-compose.yml is valid"
docker build -q --network host --build-arg BASE=certledger-base:check -f docker/postgres-check.Dockerfile \
  -t certledger-postgres:check . >/dev/null
mkdir -p docker/check-secrets
printf '%s\n' "$PASS" > docker/check-secrets/key-passphrase
chmod 0644 docker/check-secrets/key-passphrase  # read by the containers' user
compose=(docker-compose -p certledger-check -f docker/compose.check.yml)
"${compose[@]}" up -d >/dev/null 2>&1
wait_for http://127.0.0.1:58080/healthz 120
wait_for http://127.0.0.1:58081/healthz 60
wait_for http://127.0.0.1:58080/readyz 90
"${compose[@]}" ps
[ "$(docker inspect -f '{{.State.ExitCode}}' certledger-check_init_1)" = 0 ] \
  && echo "   init ran once and exited 0"
curl -fsS http://127.0.0.1:58080/ca/issuing-ca.crt -o /tmp/certledger-check-issuing.der
openssl x509 -inform DER -in /tmp/certledger-check-issuing.der -out /tmp/certledger-check-issuing.pem
curl -fsS http://127.0.0.1:58080/ca/root-ca.crt | openssl x509 -inform DER -out /tmp/certledger-check-root.pem
token=$("${compose[@]}" exec -T certledger certledger token create --role admin --name image-check 2>/dev/null)
work=$(mktemp -d)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k" \
  -subj /CN=x -out "$work/csr" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"profile": "tls-server", "csr": open(sys.argv[1]).read(),
  "subject": {"dns_names": ["check.example.cn"]}}))' "$work/csr" > "$work/apply.json"
api() { curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
id=$(api -d @"$work/apply.json" http://127.0.0.1:58080/api/v1/certificates | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -X POST "http://127.0.0.1:58080/api/v1/certificates/$id/approve" >/dev/null
api -X POST "http://127.0.0.1:58080/api/v1/certificates/$id/issue" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["certificate_pem"], end="")' > "$work/leaf.pem"
for _ in $(seq 1 30); do
  status=$(openssl ocsp -url http://127.0.0.1:58081/ocsp -issuer /tmp/certledger-check-issuing.pem \
    -cert "$work/leaf.pem" -CAfile /tmp/certledger-check-root.pem 2>/dev/null | grep -o 'leaf.pem: .*' || true)
  [ "$status" = "leaf.pem: good" ] && break
  sleep 1
done
rm -rf "$work"
echo "   issued through the API; the OCSP service says: ${status:-nothing}"
[ "$status" = "leaf.pem: good" ] || fail "the OCSP service did not answer good"
leaders=$(curl -fsS http://127.0.0.1:58080/metrics | awk '/^certledger_leader /{print $2}')
echo "   leader in the API service: $leaders (the other candidate is the OCSP service's parent)"
say "image-check passed"
