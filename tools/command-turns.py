#!/usr/bin/env python3
"""Times command turns against a running `aomi serve`, one after the other on one kept-alive
connection: the end-to-end cost of a turn without a model (HTTP, the store's start and end, the
tool, the SSE stream), with less noise than the full benchmark's chain-read comparison.

    python3 tools/command-turns.py --port 8080 [--turns 1000] [--warm-up 100] [--per-chat 20] [--text /time]
        [--pause-ms 0]

`--pause-ms` waits between turns, so that the server's threads go to sleep between them, as they
do in the full benchmark's chain-read comparison (which runs other reads between command turns):
a turn then pays to wake every thread it hands work to.

Start the server with the limits off (AOMI_LIMIT_IP_RATE=0 AOMI_LIMIT_SESSION_RATE=0
AOMI_LIMIT_TURNS_PER_CLIENT=0 AOMI_LIMIT_TURNS_TOTAL=0); with RUST_LOG=aomi_server=debug its
"turn prepared" lines give each turn's store start (start_us). Prints p50 and p90 in ms.
"""

import argparse
import http.client
import json
import sys
import time
import uuid


def run(conn: http.client.HTTPConnection, turns: int, per_chat: int, text: str, pause: float) -> list[float]:
    times = []
    chat = ""
    for i in range(turns):
        if pause:
            time.sleep(pause)
        if i % per_chat == 0:
            chat = "c-" + uuid.uuid4().hex
        message = {"id": "m-" + uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": text}]}
        body = json.dumps({"id": chat, "message": message})
        started = time.perf_counter()
        conn.request("POST", "/api/chat", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200 or b'"type":"finish"' not in data:
            sys.exit(f"turn {i}: HTTP {response.status}: {data[:300]!r}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--per-chat", type=int, default=20)
    parser.add_argument("--text", default="/time")
    parser.add_argument("--pause-ms", type=float, default=0.0)
    args = parser.parse_args()
    conn = http.client.HTTPConnection("127.0.0.1", args.port)
    pause = args.pause_ms / 1000
    run(conn, args.warm_up, args.per_chat, args.text, pause)
    times = sorted(run(conn, args.turns, args.per_chat, args.text, pause))
    at = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1000
    print(f"{len(times)} command turns ({args.text!r}, {args.pause_ms:g} ms apart): p50 {at(0.5):.3f} ms, p90 {at(0.9):.3f} ms")


if __name__ == "__main__":
    main()
