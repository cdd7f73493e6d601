"""The ASGI entry for servers that import the app by name (uvicorn workers, gunicorn):

    uvicorn --factory evbill.entrypoints.api.asgi:build --workers 2

Settings are read from the environment once per process.
"""

from __future__ import annotations

from fastapi import FastAPI

from evbill.config import Settings
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.collector import settle_for_serving


def build() -> FastAPI:
    """The app of one server process, its garbage collector set for serving (``collector``)."""
    app = create_app(Settings.from_environment())
    settle_for_serving()
    return app
