#!/usr/bin/env python3
"""Sign-in without an oracle, measured: does asking for a link answer the same, in the same
time, for a registered and an unknown address, with the mail server up and with it down?

Starts `samling serve --demo` on a fresh SQLite file with the project's SMTP sink
(`bench-smtp-sink`, bench/src/bin/smtp_sink.rs) as its mail server, then asks ROUNDS times for a link for a known
demo address and for an unknown one, interleaved, and reports the median and 90th percentile
of each and their ratio. Then stops the mail server and asks again: every answer must be 202.
Run by hand (not in CI); the figures go in docs/reliability.md.

    python3 tests/measure-sign-in.py                   # ROUNDS=300, debug build
    ROUNDS=1000 BIN_DIR=target/release python3 tests/measure-sign-in.py
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "300"))
BIN_DIR = os.environ.get("BIN_DIR", os.path.join(ROOT, "target", "debug"))
KNOWN = ["admin@example.no", "marte.fjeld@example.no", "sindre.aas@example.no", "aud.lie@example.no"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    sys.exit(f"measure-sign-in: {what} did not happen within {seconds} s")


def ask(base, email):
    body = json.dumps({"email": email}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/auth/sign-in-link", data=body, headers={"content-type": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, text, (time.perf_counter() - started) * 1000


def summary(times):
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


def main():
    if not os.environ.get("BIN_DIR"):
        subprocess.run(["cargo", "build", "--locked", "-p", "samling", "-p", "samling-bench"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="measure-sign-in-")
    count_file = os.path.join(work, "mails")
    sink = subprocess.Popen(
        [os.path.join(BIN_DIR, "bench-smtp-sink"), "--count-file", count_file],
        stdout=subprocess.PIPE, text=True,
    )
    line = sink.stdout.readline()
    smtp_port = int(line.rsplit(":", 1)[1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        SAMLING_DATABASE_URL=f"sqlite://{work}/samling.sqlite?mode=rwc",
        SAMLING_BIND=f"127.0.0.1:{port}",
        SAMLING_PUBLIC_URL=base,
        SAMLING_SMTP_HOST="127.0.0.1",
        SAMLING_SMTP_PORT=str(smtp_port),
        SAMLING_SMTP_TLS="none",
        SAMLING_OUTBOX_DIR=f"{work}/outbox",
        SAMLING_FILES_DIR=f"{work}/files",
        SAMLING_SIGN_IN_LIMIT_PER_ADDRESS="100000",
        SAMLING_SIGN_IN_LIMIT_PER_IP="100000",
        RUST_LOG="warn",
    )
    server = subprocess.Popen(
        [os.path.join(BIN_DIR, "samling"), "serve", "--demo"], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"),
    )
    try:
        def up():
            try:
                return urllib.request.urlopen(f"{base}/readyz").status == 200
            except OSError:
                return False

        wait_for(up, "the server starting")
        for _ in range(20):  # warm up both paths
            ask(base, KNOWN[0])
            ask(base, "warm-up@example.no")
        known, unknown, answers = [], [], set()
        for round_ in range(ROUNDS):
            for email, into in ((KNOWN[round_ % len(KNOWN)], known), (f"nobody-{round_}@example.no", unknown)):
                status, text, ms = ask(base, email)
                answers.add((status, text))
                into.append(ms)
        (k50, k90), (u50, u90) = summary(known), summary(unknown)
        print(f"mail server up, {ROUNDS} rounds: known p50 {k50:.2f} ms p90 {k90:.2f} ms; "
              f"unknown p50 {u50:.2f} ms p90 {u90:.2f} ms; median ratio known/unknown {k50 / u50:.2f}; "
              f"distinct answers {len(answers)}")

        def mails():
            try:
                return int(open(count_file).read().split()[0])
            except (OSError, ValueError, IndexError):
                return 0

        expected = 20 + ROUNDS
        wait_for(lambda: mails() >= expected, f"{expected} link mails arriving", 300)
        print(f"mails received by the mail server: {mails()} (at least {expected}: a link for each request "
              f"for a known address, besides the demo's first digests)")

        sink.terminate()
        sink.wait()
        statuses = {}
        for round_ in range(50):
            for email in (KNOWN[round_ % len(KNOWN)], f"down-{round_}@example.no"):
                status, _, _ = ask(base, email)
                statuses[status] = statuses.get(status, 0) + 1
        print(f"mail server down, 100 requests: statuses {statuses}")
        return 0 if set(statuses) == {202} and len(answers) == 1 else 1
    finally:
        server.terminate()
        server.wait()
        if sink.poll() is None:
            sink.terminate()


if __name__ == "__main__":
    sys.exit(main())
