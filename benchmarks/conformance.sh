#!/usr/bin/env bash
# Run the public W3C / W3C-CCG conformance suites against `accredit serve` over https on
# 127.0.0.1 and print pass/fail counts per suite. No suite code lives in this repository: clone
# the suites and install their npm dependencies in SUITES_DIR first (README, "Standards
# conformance"). Each suite gets a localConfig.cjs naming this server's endpoints; the
# self-signed certificate is trusted through NODE_EXTRA_CA_CERTS.
#
#   benchmarks/conformance.sh [SUITES_DIR] [suite ...]     (SUITES_DIR defaults to ../suites)
#
# Environment: VC2_ISSUER=eddsa-jcs-2022 points the data model suite at the JCS issuer (inline
# contexts are accepted there: the JSON itself is signed); ACCREDIT_MAX_BACKDATE_SECONDS lets the
# suites' fixed past issuance dates through the service's backdating limit (default 300 s).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
suites_dir="$(cd "${1:-$here/../suites}" && pwd)"
shift || true
all=(vc-data-model-2.0-test-suite vc-di-eddsa-test-suite vc-di-ed25519signature2020-test-suite
  vc-bitstring-status-list-test-suite vc-api-issuer-test-suite vc-api-verifier-test-suite)
selected=("${@:-${all[@]}}")
port="${PORT:-40443}"
base="https://127.0.0.1:$port"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; cp "$work/serve.log" "$suites_dir/serve.log"; rm -rf "$work"' EXIT

openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Ed25519Signature2020 is off by default on the verify routes; the suites test it.
ACCREDIT_VERIFY_SUITES="eddsa-rdfc-2022,eddsa-jcs-2022,Ed25519Signature2020" \
  accredit serve --data-dir "$work/data" --keep-admin-token --host 127.0.0.1 --port "$port" \
  --cert "$work/cert.pem" --key "$work/key.pem" >"$work/serve.log" 2>&1 &
server=$!
for attempt in $(seq 300); do  # up to a minute on a loaded machine
  curl -sf --cacert "$work/cert.pem" "$base/" >/dev/null && break
  [ "$attempt" = 300 ] && { echo "accredit serve did not answer on $base" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
did="$(curl -sf --cacert "$work/cert.pem" "$base/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["did"])')"
token="$(cat "$work/data/admin-token")"

endpoint() {  # endpoint PATH TAG... -> one issuer/verifier entry
  local path="$1"; shift
  local tags; tags="$(printf '"%s",' "$@")"
  printf '{id: "%s", endpoint: "%s%s", headers: {Authorization: "Bearer %s"}, supports: {vc: ["1.1", "2.0"]}, tags: [%s]}' \
    "$did" "$base" "$path" "$token" "${tags%,}"
}

config() {  # the implementation every suite reads from localConfig.cjs
  cat <<EOF
module.exports = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: "accredit",
    implementation: "accredit serve",
    issuers: [
      $(endpoint /issuers/eddsa-jcs-2022/credentials/issue eddsa-jcs-2022 $jcs_tags),
      $(endpoint /credentials/issue eddsa-rdfc-2022 $rdfc_tags BitstringStatusList vc-api localhost),
      $(endpoint /issuers/Ed25519Signature2020/credentials/issue Ed25519Signature2020)
    ],
    verifiers: [
      $(endpoint /credentials/verify eddsa-rdfc-2022 eddsa-jcs-2022 Ed25519Signature2020 vc2.0 BitstringStatusList vc-api localhost)
    ],
    vpVerifiers: [
      $(endpoint /presentations/verify vc2.0 BitstringStatusList vc-api localhost)
    ]
  }]
};
EOF
}

# The suites take the first issuer with their tag: vc2.0 goes to one configuration only.
if [ "${VC2_ISSUER:-eddsa-rdfc-2022}" = eddsa-jcs-2022 ]; then jcs_tags=vc2.0 rdfc_tags=; else jcs_tags= rdfc_tags=vc2.0; fi

printf '%-42s %6s %6s %8s\n' suite passed failed pending
for suite in "${selected[@]}"; do
  cd "$suites_dir/$suite"
  config >localConfig.cjs
  cp localConfig.cjs .localConfig.cjs
  NODE_EXTRA_CA_CERTS="$work/cert.pem" npx mocha tests/ --reporter json --timeout 30000 \
    --preserve-symlinks >"$work/$suite.json" 2>"$work/$suite.err" || true
  cp "$work/$suite.json" "$suites_dir/$suite.result.json"
  python3 - "$work/$suite.json" "$suite" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
report = json.loads(text[text.index("{"):])
stats = report["stats"]
print(f"{sys.argv[2]:42} {stats['passes']:6} {stats['failures']:6} {stats['pending']:8}")
EOF
done
