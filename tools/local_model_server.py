"""llama-cpp-python's OpenAI-compatible server on 127.0.0.1, on a port that may be 0 (a free one).

Takes the flags of `python -m llama_cpp.server` (--model, --model_alias, --chat_format, --n_ctx,
--port, ...). Unlike that module it binds the socket itself before the model loads, so `--port 0`
works, and prints `listening on http://127.0.0.1:PORT` once the model is loaded and the server
is about to accept requests (the tests and `aomi bench` wait for that line). Stops on SIGTERM or
when its standard input closes, so a test that dies never leaves it running.
"""

import argparse
import os
import signal
import socket
import sys
import threading

import uvicorn
from llama_cpp.server.app import create_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings


def watch_stdin():
    """Exits the process when standard input reaches its end (the parent is gone)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_args_from_model(parser, Settings)
    parser.add_argument("--exit_on_stdin_close", action="store_true")
    args = parser.parse_args()
    server_settings = parse_model_from_args(ServerSettings, args)
    model_settings = [parse_model_from_args(ModelSettings, args)]

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", server_settings.port))
    port = sock.getsockname()[1]

    app = create_app(server_settings=server_settings, model_settings=model_settings)
    config = uvicorn.Config(app, log_level="warning")
    server = uvicorn.Server(config)
    if args.exit_on_stdin_close:
        threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
