"""The fonts a document embeds: DejaVu Sans cut down once per machine to the scripts names use.

PDF/A embeds every font it uses. DejaVu Sans has 6,253 glyphs; reading it and subsetting it again for
every document cost about 0.3 s a document. Cut once to Latin (with Latin-1 and Extended-A/B), Greek,
Cyrillic, punctuation, currency, letterlike, arrows, maths and shapes (1,683 glyphs, 0.2 MB), the
per-document work is a fraction of that. The cut fonts are written beside the temporary files, under
names that change when the source font does, and replaced atomically (concurrent workers are safe).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FACES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "MONO": "DejaVuSansMono.ttf"}
RANGES = (
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x2000, 0x206F), (0x20A0, 0x20CF),
    (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF),
)  # fmt: skip


def _cut(source: Path, target: Path) -> None:
    from fontTools import subset, ttLib

    font = ttLib.TTFont(str(source))
    options = subset.Options()
    options.notdef_outline = True
    options.glyph_names = True
    options.name_IDs = ["*"]
    options.layout_features = []  # fpdf2 does not shape text here: no kerning or ligature tables
    options.hinting = False  # printed, not rasterised on screens at small sizes: hinting is dead weight
    options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF", "kern"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for low, high in RANGES for code in range(low, high + 1)])
    subsetter.subset(font)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(partial))
    os.replace(partial, target)


@functools.cache
def font_files() -> dict[str, Path] | None:
    """Style ("", "B", "MONO") -> the cut font file; None where DejaVu is not installed."""
    if not all((FONT_DIR / name).exists() for name in FACES.values()):
        return None
    cache = Path(tempfile.gettempdir()) / "evbill-fonts"
    cache.mkdir(exist_ok=True)
    files = {}
    for style, name in FACES.items():
        source = FONT_DIR / name
        stamp = hashlib.sha256(f"{source.stat().st_size}:{source.stat().st_mtime_ns}:{RANGES}:2".encode())
        target = cache / f"{source.stem}-{stamp.hexdigest()[:12]}.ttf"
        if not target.exists():
            _cut(source, target)
        files[style] = target
    return files


@functools.cache
def _template(style: str) -> Any:
    """The font as fpdf2 reads it (metrics, cmap), read once per process."""
    from fpdf import FPDF

    files = font_files()
    assert files is not None  # noqa: S101  (only asked for when the fonts exist)
    reader = FPDF()
    reader.add_font("template", style if style in ("", "B") else "", str(files[style]))
    return next(iter(reader.fonts.values()))


def fresh_font(pdf: Any, style: str, fontkey: str) -> Any:
    """A font for one document: the metrics read once, with its own glyph subset and its own copy of
    the font program (fpdf2 cuts the program down in place when it writes the document)."""
    from fontTools import ttLib
    from fpdf.fonts import SubsetMap

    template = _template(style)
    font = copy.copy(template)
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    font.ttfont = ttLib.TTFont(str(template.ttffile), recalcTimestamp=False, lazy=True)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font
    return font


SUBSET_CACHE_SIZE = 512
_subsets: dict[tuple[str, frozenset[str]], tuple[bytes, dict[str, int]]] = {}


class _CachingSubsetter:
    """fontTools' Subsetter as fpdf2 calls it when it writes a document, remembering the result per
    (font file, glyph set): documents of one operator and language use the same few glyph sets, and
    cutting a font down is half the cost of a document. Only fonts cut by ``font_files`` are cached;
    any other font is subset as fpdf2 does it.

    A remembered cut also remembers its glyph ids by name and its bytes: fpdf2 looks up each glyph's
    id and then saves the font again, which would read the glyph order and compile every table anew
    for bytes that are those remembered."""

    def __init__(self, options: Any) -> None:
        self._options = options
        self._glyphs: frozenset[str] = frozenset()

    def populate(self, glyphs: Any = (), **others: Any) -> None:
        self._glyphs = frozenset(glyphs)
        self._others = others

    def subset(self, font: Any) -> None:
        from fontTools import subset, ttLib

        source = getattr(getattr(getattr(font, "reader", None), "file", None), "name", None)
        cacheable = isinstance(source, str) and "evbill-fonts" in source and not self._others
        key = (str(source), self._glyphs)
        remembered = _subsets.get(key) if cacheable else None
        if remembered is None:
            if cacheable:
                self._options.glyph_names = True  # fpdf2 looks glyphs up by name in the cut font
            real = subset.Subsetter(self._options)
            real.populate(glyphs=self._glyphs, **self._others)
            real.subset(font)
            if not cacheable:
                return
            buffer = io.BytesIO()
            font.save(buffer)
            data = buffer.getvalue()
            glyph_ids = dict(ttLib.TTFont(io.BytesIO(data), lazy=True).getReverseGlyphMap())
            if len(_subsets) >= SUBSET_CACHE_SIZE:
                _subsets.pop(next(iter(_subsets)))
            remembered = _subsets[key] = (data, glyph_ids)
        data, glyph_ids = remembered
        cut = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
        font.__dict__.clear()
        font.__dict__.update(cut.__dict__)
        font.getGlyphID = glyph_ids.__getitem__  # this one font object's methods, not the class's
        font.save = functools.partial(_write, data)


def _write(data: bytes, file: Any, reorderTables: bool | None = True) -> None:  # noqa: N803  (fontTools' name)
    """``TTFont.save`` of a font whose bytes are known: into a binary file object, as fpdf2 saves."""
    file.write(data)


@functools.cache
def install_subset_cache() -> None:
    """Let fpdf2 (used only by these documents) cut fonts through ``_CachingSubsetter``."""
    import types

    from fontTools import subset
    from fpdf import output

    output.ftsubset = types.SimpleNamespace(Options=subset.Options, Subsetter=_CachingSubsetter)  # type: ignore[assignment]
