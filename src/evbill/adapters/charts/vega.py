"""Vega-Lite to PNG, SVG and self-contained HTML with ``vl-convert-python``: no browser, no network.

vl-convert embeds the Vega, Vega-Lite and Vega-Embed JavaScript (in the deno runtime it ships), so
PNG and SVG are drawn in-process and offline; external data is refused (``allowed_base_urls=[]``).
The HTML inlines the same scripts (about 900 kB) and the spec, loads nothing from anywhere, and has
no "open in editor" action: a web console can serve it as it is, or embed the spec itself.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

import vl_convert

from evbill.domain.analytics.charts import ChartFormat

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<script type="text/javascript">{bundle}</script>
</head>
<body>
<div id="chart"></div>
<script type="text/javascript">
vegaEmbed("#chart", {spec}, {{"renderer": "svg", "actions": false}}).catch(console.error);
</script>
</body>
</html>
"""


@cache
def _bundle() -> str:
    return vl_convert.javascript_bundle().replace("</script", "<\\/script")


class VegaChartRenderer:
    """Renders Vega-Lite specs; ``scale`` multiplies the PNG's pixel size."""

    def __init__(self, *, scale: float = 1.0) -> None:
        self._scale = scale

    def render(self, spec: dict[str, Any], output: ChartFormat) -> bytes:
        if output is ChartFormat.PNG:
            return bytes(vl_convert.vegalite_to_png(spec, scale=self._scale, allowed_base_urls=[]))
        if output is ChartFormat.SVG:
            return str(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])).encode()
        title = spec.get("title")
        # the spec goes inside a <script>: a "</" in a label must not close it
        inline = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
        page = PAGE.format(title=html.escape(str(title or "Chart")), bundle=_bundle(), spec=inline)
        return page.encode()
