"""How ``evbill serve --workers N`` listens: Nagle's algorithm off, and a socket of its own per worker.

Two things uvicorn's multiprocess mode does not do, each measured with ``python -m bench --only api``:

* TCP_NODELAY. uvicorn's supervisor binds the shared socket with protocol 0, so asyncio never turns
  Nagle's algorithm off on accepted connections; a response's head and body, written separately, then
  wait for the client's delayed ACK: about 40 ms per keep-alive request (uvicorn issue #3149).
  Accepted sockets inherit the option from the listening one.
* An even spread. With one shared socket, the worker that wakes first accepts every connection that
  is waiting (uvloop accepts until none is left), so a client that opens its connections together,
  as a proxy or a load generator does, ends up on one worker while the other idles. With SO_REUSEPORT
  each worker listens on a socket of its own on the same port and the kernel spreads new connections
  across them by their addresses. (Only processes of the same user can join such a group.)

    listeners = worker_sockets(config)          # N sockets on config.host:config.port
    WorkerPerSocket(config, listeners).run()    # worker i serves listeners[i], restarted on it
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The one socket uvicorn would bind for ``config``, with Nagle's algorithm off."""
    listener = config.bind_socket()
    if listener.family in (socket.AF_INET, socket.AF_INET6):
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def worker_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """A TCP_NODELAY socket per worker on ``config.host:config.port`` (SO_REUSEPORT); one shared
    socket where that cannot be (a Unix socket, a given descriptor, a system without SO_REUSEPORT)."""
    if config.uds is not None or config.fd is not None or not hasattr(socket, "SO_REUSEPORT"):
        return [listening_socket(config)]
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    listeners: list[socket.socket] = []
    port = config.port
    try:
        for _ in range(config.workers):
            listener = socket.socket(family, socket.SOCK_STREAM)
            listeners.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            listener.bind((config.host, port))
            listener.set_inheritable(True)
            port = listener.getsockname()[1]  # port 0: the others join the port the first one got
    except OSError:
        for listener in listeners:
            listener.close()
        raise
    return listeners


class WorkerPerSocket(Multiprocess):
    """uvicorn's supervisor (signals, health checks, restarts), with worker ``i`` serving socket ``i``.

    Given a single socket, every worker serves it, as uvicorn's own supervisor does.
    """

    def __init__(self, config: uvicorn.Config, listeners: list[socket.socket]) -> None:
        super().__init__(config, sockets=listeners)
        self._listeners = listeners

    def _sockets_for(self, slot: int) -> list[socket.socket]:
        return [self._listeners[slot]] if len(self._listeners) > 1 else self._listeners

    def init_processes(self) -> None:
        for slot in range(self.processes_num):
            process = Process(self.config, self._sockets_for(slot))
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        self._with_slot_sockets(super().restart_all)

    def keep_subprocess_alive(self) -> None:
        self._with_slot_sockets(super().keep_subprocess_alive)

    def _with_slot_sockets(self, action: Callable[[], None]) -> None:
        """Run uvicorn's own restart logic, which starts ``Process(config, self.sockets)`` for the
        worker at ``self.processes[i]``; ``self.sockets`` is that slot's socket while it does."""
        every = self.processes
        try:
            for slot, process in enumerate(every):
                self.sockets, self.processes = self._sockets_for(slot), [process]
                try:
                    action()
                finally:
                    every[slot] = self.processes[0]
        finally:
            self.sockets, self.processes = self._listeners, every
