"""Runs a roomwire.Client for test/python-client.test.ts: what it receives goes to stdout, commands come on stdin.

One JSON object per line each way. Out: ``{"t": "event" | "resync" | "error" | "state" | "metrics" |
"subscribed" | "unsubscribed" | "closed", ...}``. In: ``{"cmd": "metrics" | "subscribe" |
"unsubscribe" | "close", "services": [...]}``; end of input closes the client too.

The token function reads ``--token-file`` on every call, so the test can hand out a fresh token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import roomwire  # noqa: E402

_out = threading.Lock()


def emit(message: dict) -> None:
    line = json.dumps(message, separators=(",", ":"))
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--services", default="")
    parser.add_argument("--min-delay-s", type=float, default=0.05)
    parser.add_argument("--max-delay-s", type=float, default=0.3)
    parser.add_argument("--max-pending-packets", type=int, default=10_000)
    parser.add_argument("--handler-delay-s", type=float, default=0.0, help="a slow application: each event handler sleeps this long")
    args = parser.parse_args()

    def token() -> str:
        with open(args.token_file, encoding="utf-8") as f:
            return f.read().strip()

    client = roomwire.Client(
        args.url,
        token=token,
        services=[s for s in args.services.split(",") if s],
        min_reconnect_delay_s=args.min_delay_s,
        max_reconnect_delay_s=args.max_delay_s,
        max_pending_packets=args.max_pending_packets,
    )
    client.on_state(lambda before, after: emit({"t": "state", "from": before, "to": after}))
    client.on_resync(lambda info: emit({"t": "resync", "services": info.services, "reason": info.reason}))
    client.on_error(lambda err: emit({"t": "error", "code": err.code, "message": err.message}))
    def on_event(data, e) -> None:
        if args.handler_delay_s:
            time.sleep(args.handler_delay_s)
        emit({"t": "event", "id": e["id"], "service": e["service"], "type": e["type"], "data": data})

    for service in ("billing", "tickets"):
        client.on(service, "*", on_event)
    client.connect()

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        name = command.get("cmd")
        if name == "metrics":
            emit({"t": "metrics", **client.metrics()})
        elif name in ("subscribe", "unsubscribe"):
            future = getattr(client, name)(command["services"])
            future.add_done_callback(lambda _f, n=name, s=command["services"]: emit({"t": n + "d", "services": s}))
        elif name == "close":
            break
        else:
            emit({"t": "error", "code": "driver", "message": f"unknown command {name!r}"})
    client.close()
    emit({"t": "closed", "threads": sorted(t.name for t in threading.enumerate() if t.name.startswith("roomwire-"))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
