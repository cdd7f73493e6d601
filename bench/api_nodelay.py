"""What-if server for the API benchmark: ``evbill serve --workers N`` with TCP_NODELAY on its socket.

``evbill serve --workers N`` (N > 1) runs uvicorn's multiprocess supervisor, which binds the listening
socket itself (``Config.bind_socket``) with ``proto`` 0. Accepted connections inherit that, and asyncio
turns on TCP_NODELAY only for sockets that say IPPROTO_TCP, so Nagle's algorithm stays on: uvicorn
writes a response's head and body separately, and the body waits for the client's delayed ACK, about
40 ms on Linux, on every keep-alive request (uvicorn issue #3149). ``--workers 1`` is not affected.

This launcher serves the same application the same way (the ``asgi:build`` factory, settings from the
environment, uvicorn's supervisor) on a socket with TCP_NODELAY set, which accepted sockets inherit.
It measures what the API would do once ``evbill serve`` does the same; it is not how evbill runs:

    python -m bench.api_nodelay --host 127.0.0.1 --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_nodelay", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    config = uvicorn.Config(
        "evbill.entrypoints.api.asgi:build",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        log_level="info",
    )
    listener = config.bind_socket()
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[listener]).run()


if __name__ == "__main__":
    main()
