"""Checks on rendered charts, with the standard library only: a PNG decodes, HTML loads nothing."""

from __future__ import annotations

import re
import struct
import zlib

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
# Strings inside the inlined Vega bundle that name things without loading them: XML namespaces,
# JSON-schema ids, an issue link in an error message, the editor URL of an action the page disables.
INERT = (
    "http://www.w3.org/",
    "https://vega.github.io/schema/",
    "https://github.com/vega/",
    "https://vega.github.io/editor/",
)


def png_size(data: bytes) -> tuple[int, int]:
    """Decode a PNG fully (every chunk's CRC, the whole image stream): its (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    rows = zlib.decompress(idat)
    assert len(rows) == height * (1 + width * CHANNELS[colour])  # a filter byte, then the pixels
    return width, height


def svg_size(text: str) -> tuple[int, int]:
    match = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', text)
    assert match is not None
    return int(match.group(1)), int(match.group(2))


def outside_references(page: str) -> list[str]:
    """Every way the page could load something from elsewhere, and every URL not known to be inert."""
    loads = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.IGNORECASE)
    loads += re.findall(r"""(?:@import|url\()\s*["']?\s*(?:https?:)?//""", page, flags=re.IGNORECASE)
    urls = re.findall(r"https?://[^\s\"'<>()\\]+", page)
    return loads + [url for url in urls if not url.startswith(INERT)]
