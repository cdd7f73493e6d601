"""The ASGI entry for servers that import the app by name (uvicorn workers, gunicorn):

    uvicorn --factory evbill.entrypoints.api.asgi:build --workers 2

Settings are read from the environment once per process.
"""

from __future__ import annotations

from fastapi import FastAPI

from evbill.config import Settings
from evbill.entrypoints.api.app import create_app


def build() -> FastAPI:
    return create_app(Settings.from_environment())
