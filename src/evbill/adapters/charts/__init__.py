"""Chart rendering: Vega-Lite specifications to PNG, SVG and self-contained HTML."""
