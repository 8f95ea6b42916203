"""One plot per family: pass@n against predictions spent, one line per arm.

matplotlib (PNG) when it is installed, else a small hand-written SVG with the same content.
"""
from __future__ import annotations

from pathlib import Path

CONTROL = "learning-off"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def plot_family(name: str, curves: dict[str, list[float]], out_dir: Path, title: str) -> Path:
    """curves: arm -> pass@n at 1..N predictions. Returns the file written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib
    except ImportError:
        return _svg(curves, out_dir / f"{name}.svg", title)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (arm, curve), colour in zip(curves.items(), COLOURS):
        # learning-off often lies exactly on sampling-only: dashed and on top, so both show
        dashed = arm == CONTROL
        ax.plot(range(1, len(curve) + 1), curve, label=arm, color=colour,
                linestyle="--" if dashed else "-", zorder=3 if dashed else 2)
    ax.set_xlabel("predictions spent")
    ax.set_ylabel("pass@n")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path = out_dir / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _svg(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    w, h, left, bottom, top = 480, 320, 50, 40, 30
    n = max((len(c) for c in curves.values()), default=1)
    hi = max((max(c) for c in curves.values() if c), default=1.0) or 1.0

    def xy(i: int, v: float) -> str:
        x = left + (w - left - 10) * i / max(n - 1, 1)
        y = h - bottom - (h - bottom - top) * v / hi
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11">',
             f'<text x="{left}" y="18">{title}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
             f'<text x="{w // 2}" y="{h - 8}">predictions spent (1..{n})</text>',
             f'<text x="4" y="{top + 10}">{hi:.2f}</text><text x="4" y="{h - bottom}">0</text>']
    for k, ((arm, curve), colour) in enumerate(zip(curves.items(), COLOURS)):
        points = " ".join(xy(i, v) for i, v in enumerate(curve))
        dash = ' stroke-dasharray="6 4"' if arm == CONTROL else ""
        parts.append(f'<polyline fill="none" stroke="{colour}"{dash} points="{points}"/>')
        parts.append(f'<text x="{left + 10}" y="{top + 14 * (k + 1)}" fill="{colour}">{arm}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")
    return path
