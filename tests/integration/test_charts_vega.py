"""The Vega-Lite renderer draws offline: a PNG that decodes, an SVG with the figures, HTML loading nothing."""

from __future__ import annotations

import pytest

from evbill.adapters.charts.vega import VegaChartRenderer
from evbill.domain.analytics.charts import ChartFormat, heatmap_chart
from evbill.domain.analytics.heatmap import heatmap
from evbill.domain.analytics.tables import heatmap_text
from tests.charts_check import outside_references, png_size, svg_size
from tests.unit.analytics_data import FACTS


@pytest.fixture(scope="module")
def spec() -> dict[str, object]:
    return heatmap_chart(heatmap_text(heatmap(FACTS)))


def test_the_png_decodes_at_the_size_of_the_drawing_and_scales(spec: dict[str, object]) -> None:
    svg = VegaChartRenderer().render(spec, ChartFormat.SVG).decode()
    width, height = svg_size(svg)
    assert width > 720  # the 720 px plot plus its axes
    assert png_size(VegaChartRenderer().render(spec, ChartFormat.PNG)) == (width, height)
    assert png_size(VegaChartRenderer(scale=2).render(spec, ChartFormat.PNG)) == (2 * width, 2 * height)


def test_the_svg_labels_every_occupied_cell_with_its_hours(spec: dict[str, object]) -> None:
    svg = VegaChartRenderer().render(spec, ChartFormat.SVG).decode()
    labels = sorted(text for text in ("1.00", "0.50", "0.75") for _ in range(svg.count(f">{text}<")))
    assert labels == ["0.50", "0.50", "0.50", "0.75", "1.00", "1.00"]  # Mon 09/10, Wed 00/01, Thu 12/18


def test_the_html_is_one_self_contained_page(spec: dict[str, object]) -> None:
    page = VegaChartRenderer().render(spec, ChartFormat.HTML).decode()
    assert outside_references(page) == []
    assert '"occupied": "0.75"' in page  # the data travels inside the page
    assert "vegaEmbed(" in page
    assert '"actions": false' in page  # no link to an online editor


def test_a_chart_naming_outside_data_is_refused_rather_than_fetched() -> None:
    remote = {"data": {"url": "https://example.com/data.json"}, "mark": "bar"}
    with pytest.raises(ValueError, match="example.com"):
        VegaChartRenderer().render(remote, ChartFormat.SVG)
