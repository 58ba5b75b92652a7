"""Vega-Lite to SVG, offline: vl-convert runs Vega in an embedded JavaScript engine, so the
report's charts are drawn at build time with no browser, no CDN and no network."""

from __future__ import annotations

from typing import Any


class VegaLiteSvgRenderer:
    def render(self, spec: dict[str, Any]) -> str:
        import vl_convert  # imported when a report is drawn, not with every CLI start

        svg: str = vl_convert.vegalite_to_svg(spec)
        return svg
