"""``evbill frames retain``: the retention policy for raw OCPP frames, run by the operator of the platform.

    evbill frames retain --older-than 400                                # how many would go (no change)
    evbill frames retain --older-than 400 --archive frames-2026.jsonl.gz  # archive them, keep them
    evbill frames retain --older-than 400 --archive frames-2026.jsonl.gz --purge   # archive, then delete

Frames older than ``--older-than`` days that belong to no charging session (heartbeats, status, boots,
refused calls...) are written to a gzip-compressed JSON-lines file, one frame per line with its id,
station, time, direction and raw text, and/or deleted. Frames about a session are its evidence and
are always kept. The archive is flushed to disk before anything is deleted; an existing archive file
is never overwritten. Run it from a scheduler (e.g. monthly) with the period your law requires.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer

from evbill.application.charging.retention import retain_frames
from evbill.bootstrap import Container
from evbill.domain.charging.frames import StoredFrame
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import fail, fail_domain, write_json


def frame_line(stored: StoredFrame) -> bytes:
    frame = stored.frame
    return orjson.dumps(
        {
            "id": stored.id,
            "operator_id": frame.operator_id,
            "station_id": frame.station_id,
            "charge_point_id": frame.charge_point_id,
            "direction": frame.direction.value,
            "at": frame.at.isoformat().replace("+00:00", "Z"),
            "message_type": frame.message_type,
            "unique_id": frame.unique_id,
            "action": frame.action,
            "raw": frame.raw,
        }
    )


class GzipArchive:
    """Frames appended as JSON lines to a new gzip file, flushed to disk after each chunk."""

    def __init__(self, path: Path) -> None:
        self._raw: IO[bytes] = path.open("xb")  # never overwrite an archive
        self._zipped = gzip.GzipFile(fileobj=self._raw, mode="wb")

    def __call__(self, frames: Sequence[StoredFrame]) -> None:
        self._zipped.write(b"".join(frame_line(frame) + b"\n" for frame in frames))
        self._zipped.flush()
        self._raw.flush()
        os.fsync(self._raw.fileno())

    def close(self) -> None:
        self._zipped.close()
        self._raw.close()


def register(app: typer.Typer, container: Container) -> None:
    frames = typer.Typer(help="Raw OCPP frames: retention.", no_args_is_help=True)
    app.add_typer(frames, name="frames")

    @frames.command("retain")
    def retain(
        older_than: Annotated[int, typer.Option(min=1, help="Days to keep every frame (your legal period).")],
        archive: Annotated[
            Path | None, typer.Option(help="Write the old frames to this new .jsonl.gz file.")
        ] = None,
        purge: Annotated[bool, typer.Option(help="Delete the old frames (after archiving them).")] = False,
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Archive and/or purge frames older than --older-than days that belong to no charging session."""
        if not container.schema_is_current():
            fail("the database schema is not current; run `evbill db upgrade` first")
        writer = None
        if archive is not None:
            try:
                writer = GzipArchive(archive)
            except FileExistsError:
                fail(f"{archive} exists: an archive is never overwritten; choose another file")
            except OSError as error:
                fail(f"cannot write {archive}: {error.strerror}")
        try:
            done = retain_frames(
                container.services,
                older_than=timedelta(days=older_than),
                archive=writer,
                purge=purge,
                archive_name=str(archive) if archive else None,
            )
        except DomainError as error:
            fail_domain(error)
        finally:
            if writer is not None:
                writer.close()
        if json:
            write_json({"cutoff": done.cutoff.isoformat(), "old_frames": done.old_frames,
                        "archived": done.archived, "purged": done.purged})  # fmt: skip
            return
        typer.echo(
            f"{done.old_frames} frames older than {done.cutoff:%Y-%m-%d %H:%M} UTC belong to no session"
        )
        if archive is not None:
            typer.echo(f"archived {done.archived} to {archive}")
        if purge:
            typer.echo(f"purged {done.purged}; frames of charging sessions are kept")
        if archive is None and not purge:
            typer.echo("nothing changed: add --archive FILE and/or --purge")
