"""QR codes with ``segno`` (pure Python, no image library): PNG and SVG of a text, e.g. a payment link."""

from __future__ import annotations

import io

import segno


class SegnoQrRenderer:
    def render(self, text: str, output: str) -> bytes:
        """The QR code of ``text`` as ``png`` or ``svg``: error correction M, a 4-module quiet zone."""
        code = segno.make(text, error="m", micro=False)
        buffer = io.BytesIO()
        code.save(buffer, kind=output, scale=8, border=4)
        return buffer.getvalue()
