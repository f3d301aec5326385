#!/usr/bin/env bash
# Fuzzes the JSON API with schemathesis against the document the server serves
# (/api/openapi.json), once per role: admin, facilitator, project lead, expert, anonymous.
#
# Each role gets a fresh server (`samling serve --demo` on a new SQLite file, outbox and files
# folder in a temporary folder, a free port), so what one role's run changes (people removed
# from cohorts, threads locked, members muted) cannot spoil the next. The checks: no server
# error (5xx), and every answer as documented (status code, content type, headers, body
# schema). It fails on any of them and prints, per role, the requests sent, the 5xx answers and
# the answers that break the document.
#
# Left out, and why:
# - DELETE /api/v1/auth/session (sign-out) revokes every token of the person, the fuzzing
#   token included: the rest of that role's run would only see 401.
# - POST /api/v1/admin/users/{user_id}/deactivate, for the same reason: the admin could
#   deactivate the people whose tokens the run holds (its own is refused, as the API says).
#
# The seed is fixed so a run is repeatable. To explore further by hand:
#   FUZZ_SEED=$RANDOM FUZZ_MAX_EXAMPLES=100 bash tests/fuzz-api.sh
# Other settings: FUZZ_ROLES="admin anonymous" (a subset), FUZZ_WORKERS (default 4),
# FUZZ_MAX_TIME (seconds per role, default 45: the pass takes about 5 minutes), BIN_DIR (a
# samling binary built before; otherwise target/debug/samling is built). Reports and server
# logs stay in FUZZ_KEEP=DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED="${FUZZ_SEED:-20270310}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-30}"
MAX_TIME="${FUZZ_MAX_TIME:-45}"
WORKERS="${FUZZ_WORKERS:-4}"
ROLES="${FUZZ_ROLES:-admin facilitator project_lead expert anonymous}"
PY=target/venv/bin/python
SCHEMATHESIS=target/venv/bin/schemathesis

if [ ! -x "$SCHEMATHESIS" ]; then
  bash tests/ensure-tools.sh
fi
if [ -n "${BIN_DIR:-}" ]; then
  BIN="$BIN_DIR/samling"
else
  cargo build -p samling --locked --quiet
  BIN=target/debug/samling
fi

work="${FUZZ_KEEP:-$(mktemp -d)}"
mkdir -p "$work"
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
cleanup() {
  stop_server
  if [ -z "${FUZZ_KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts a fresh demo server for one role; sets $base and $dir.
start_server() {
  dir="$work/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc" \
    SAMLING_BIND="127.0.0.1:$port" \
    SAMLING_PUBLIC_URL="$base" \
    SAMLING_OUTBOX_DIR="$dir/outbox" \
    SAMLING_FILES_DIR="$dir/files" \
    SAMLING_DIGEST_INTERVAL_SECONDS=0 \
    RUST_LOG=warn \
    "$BIN" serve --demo >"$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    if "$PY" -c "import urllib.request; urllib.request.urlopen('$base/healthz', timeout=1)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "the server for $1 did not start:" >&2
  cat "$dir/server.log" >&2
  exit 1
}

# Prints a bearer token for the role (nothing for anonymous), signing in the way a person
# does: the demo's printed one-time link, or a link asked for and read from the outbox.
token_for() {
  "$PY" - "$1" "$base" "$dir" <<'PYTHON'
import email, json, pathlib, re, sys, time, urllib.request
from email import policy

role, base, folder = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])

def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data, timeout=10) as answer:
        return json.loads(answer.read() or b"null")

def printed_link(email_address):
    log = (folder / "server.log").read_text()
    return re.search(re.escape(email_address) + r"\s+\S+/sign-in/link\?token=([\w-]+)", log).group(1)

def session(secret):
    return call("POST", "/api/v1/auth/session", {"token": secret})["token"]

def mailed_link(email_address):
    call("POST", "/api/v1/auth/sign-in-link", {"email": email_address})
    for _ in range(100):
        for path in sorted((folder / "outbox").glob("*.eml")):
            mail = email.message_from_binary_file(path.open("rb"), policy=policy.default)
            if email_address in str(mail["To"]):
                text = mail.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"/sign-in/link\?token=([\w-]+)", text).group(1)
        time.sleep(0.1)
    raise SystemExit(f"no sign-in mail to {email_address}")

if role == "anonymous":
    print("")
elif role == "admin":
    print(session(printed_link("admin@example.no")))
elif role == "facilitator":
    print(session(printed_link("marte.fjeld@example.no")))
elif role == "expert":
    print(session(printed_link("eli.ekspert@example.no")))
elif role == "project_lead":
    # A project lead of the food cohort, as its facilitator sees the members.
    facilitator = session(printed_link("marte.fjeld@example.no"))
    cohort = call("GET", "/api/v1/cohorts", token=facilitator)[0]["id"]
    members = call("GET", f"/api/v1/cohorts/{cohort}", token=facilitator)["members"]
    lead = next(member["email"] for member in members if member["role"] == "project_lead")
    print(session(mailed_link(lead)))
else:
    raise SystemExit(f"unknown role {role}")
PYTHON
}

# Prints one role's figures: requests and 5xx answers from the HAR log of every exchange; the
# answers that break the document (other than by being a 5xx) and the fuzzer's own errors
# from the JUnit report.
summarise() {
  "$PY" - "$1" "$2" <<'PYTHON'
import collections, glob, json, re, sys
import xml.etree.ElementTree as ElementTree
role, folder = sys.argv[1], sys.argv[2]
har = json.load(open(glob.glob(f"{folder}/har-*.json")[0]))["log"]["entries"]
requests = len(har)
server_errors = collections.Counter(
    f'{entry["request"]["method"]} {entry["response"]["status"]}' for entry in har if entry["response"]["status"] >= 500
)
violations = collections.Counter()
errors = []
for case in ElementTree.parse(glob.glob(f"{folder}/junit*.xml")[0]).getroot().iter("testcase"):
    for failure in case.findall("failure"):
        # One group per failing test case: its checks, then the answer ("[404] Not Found:").
        for group in re.split(r"\n(?=\d+\. Test Case ID)", failure.text or ""):
            answer = re.search(r"^\[(\d{3})\]", group, re.MULTILINE)
            if answer and int(answer.group(1)) >= 500:
                continue
            for code, title in re.findall(r"^- (ST\d+) (.+)$", group, re.MULTILINE):
                violations[f'{case.get("name")}: {code} {title}'] += 1
    for error in case.findall("error"):
        errors.append(f'{case.get("name")}: {(error.text or "").strip().splitlines()[0]}')
print(f"{role:<13} requests {requests:>6}   5xx {sum(server_errors.values()):>4}   "
      f"breaking the document {sum(violations.values()):>3}   fuzzer errors {len(errors)}")
for line in sorted(violations):
    print(f"    {line}")
for line in errors:
    print(f"    error: {line}")
PYTHON
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
started=$(date +%s)
failed=0
summary="$work/summary.txt"
: >"$summary"
for role in $ROLES; do
  start_server "$role"
  token=$(token_for "$role")
  auth=()
  if [ -n "$token" ]; then auth=(-H "Authorization: Bearer $token"); fi
  printf '\n==> %s (%s)\n' "$role" "$base"
  status=0
  "$SCHEMATHESIS" run "$base/api/openapi.json" \
    --checks "$checks" \
    --workers "$WORKERS" \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_TIME" \
    --seed "$SEED" \
    --phases examples,coverage,fuzzing \
    --exclude-operation-id delete_session --exclude-operation-id deactivate_user \
    --request-timeout 30 \
    --report junit,har --report-dir "$work/$role-report" \
    --continue-on-failure \
    --no-color \
    "${auth[@]}" >"$work/$role.log" 2>&1 || status=$?
  tail -n 25 "$work/$role.log"
  summarise "$role" "$work/$role-report" | tee -a "$summary"
  [ "$status" -eq 0 ] || failed=1
  stop_server
done

printf '\n==> API fuzzing, seed %s, %s examples per operation, %s workers, %s s\n' \
  "$SEED" "$MAX_EXAMPLES" "$WORKERS" "$(($(date +%s) - started))"
cat "$summary"
exit "$failed"
