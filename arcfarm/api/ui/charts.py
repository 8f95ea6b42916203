"""Small charts as inline SVG, drawn on the server: no JavaScript library, nothing to fetch.

Each mark carries its number in a data- attribute (and a <title> for the mouse), so a browser
test can read back what was drawn.
"""
from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH, BAR_HEIGHT, LABEL_W = 460, 22, 150


def bars(items: list[tuple[str, float]], unit: str = "", kind: str = "bars") -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest."""
    if not items:
        return Markup('<p class="empty">nothing recorded yet</p>')
    top = max(v for _, v in items) or 1
    height = BAR_HEIGHT * len(items) + 4
    parts = [f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = i * BAR_HEIGHT + 2
        w = max(1.0, (WIDTH - LABEL_W - 70) * value / top) if value else 0
        text = f"{value:g}{unit}" if isinstance(value, int) else f"{value:.1f}{unit}"
        parts.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value:g}">'
            f"<title>{escape(label)}: {text}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{BAR_HEIGHT - 6}"></rect>'
            f'<text x="{LABEL_W + w + 5:.1f}" y="{y + 15}">{text}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def step_curve(points: list[tuple[int, int]], total: int, x_label: str, y_label: str) -> Markup:
    """A rising step line from (0, 0): y out of `total` against x."""
    if total == 0:
        return Markup('<p class="empty">nothing recorded yet</p>')
    left, bottom, w, h = 40, 30, WIDTH - 50, 170
    x_max = max(p[0] for p in points) or 1

    def sx(x: float) -> float:
        return left + w * x / x_max

    def sy(y: float) -> float:
        return 10 + h * (1 - y / total)

    path, prev = [], (0, 0)
    for x, y in points:
        path.append(f"{sx(x):.1f},{sy(prev[1]):.1f} {sx(x):.1f},{sy(y):.1f}")
        prev = (x, y)
    steps = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" class="step" '
                    f'data-x="{x}" data-y="{y}"><title>{y} of {total} within {x}</title></circle>'
                    for x, y in points[1:-1])
    return Markup(
        f'<svg class="chart curve" viewBox="0 0 {WIDTH} {h + bottom + 10}" width="{WIDTH}" '
        f'height="{h + bottom + 10}" role="img" data-total="{total}" data-final="{points[-1][1]}">'
        f'<line x1="{left}" y1="{sy(0)}" x2="{left + w}" y2="{sy(0)}" class="axis"></line>'
        f'<line x1="{left}" y1="{sy(0)}" x2="{left}" y2="{sy(total)}" class="axis"></line>'
        f'<text x="{left - 4}" y="{sy(total) + 4:.1f}" text-anchor="end">{total}</text>'
        f'<text x="{left - 4}" y="{sy(0) + 4:.1f}" text-anchor="end">0</text>'
        f'<text x="{left + w}" y="{sy(0) + 16:.1f}" text-anchor="end">{x_max}</text>'
        f'<text x="{left + w / 2:.0f}" y="{sy(0) + 26:.1f}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="{left + 4}" y="{sy(total) - 2:.1f}">{escape(y_label)}</text>'
        f'<polyline points="{" ".join(path)}" class="line"></polyline>{steps}</svg>')
