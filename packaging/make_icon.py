"""Draw the application icon: ``resources/corebt-viewer.svg`` and ``.png`` (256 and 512 px).

An MRI-grey axial brain section with the BraTS tumour colours (oedema,
enhancing rim, necrotic core) beside a pink H&E slide strip, on a dark rounded tile.
The SVG and the PNGs are drawn from the same shape list, so they match.

Run: ``python packaging/make_icon.py`` (needs Pillow).
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SIZE = 512  # design grid; shapes below are in these units

# (kind, params, fill) in drawing order
SHAPES: list[tuple[str, tuple, str]] = [
    ("rounded", (16, 16, 496, 496, 96), "#1f2430"),
    # H&E slide strip behind the brain, lower right
    ("rounded", (300, 250, 468, 452, 26), "#f4e9ef"),
    ("ellipse", (318, 300, 390, 360), "#c45c9a"),
    ("ellipse", (372, 340, 450, 420), "#d98ab8"),
    ("ellipse", (330, 372, 372, 414), "#7a3c8c"),
    ("ellipse", (404, 280, 446, 318), "#7a3c8c"),
    # axial brain section: cortex, white matter, midline fissure, ventricles
    ("ellipse", (60, 48, 420, 424), "#b9bec8"),
    ("ellipse", (92, 82, 388, 390), "#8c93a0"),
    ("rect", (236, 48, 244, 140), "#1f2430"),
    ("rect", (236, 332, 244, 424), "#1f2430"),
    ("ellipse", (200, 196, 232, 286), "#3a404c"),
    ("ellipse", (248, 196, 280, 286), "#3a404c"),
    # tumour: oedema (green), enhancing rim (yellow), necrotic core (red)
    ("ellipse", (262, 122, 394, 254), "#3cb371"),
    ("ellipse", (284, 144, 372, 232), "#ffd23c"),
    ("ellipse", (304, 164, 352, 212), "#dc3232"),
]


def svg() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}">',
        "<title>CoRe-BT Viewer</title>",
    ]
    for kind, p, fill in SHAPES:
        if kind == "rounded":
            x0, y0, x1, y1, r = p
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" '
                f'rx="{r}" fill="{fill}"/>'
            )
        elif kind == "rect":
            x0, y0, x1, y1 = p
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="{fill}"/>'
            )
        else:
            x0, y0, x1, y1 = p
            parts.append(
                f'<ellipse cx="{(x0 + x1) / 2}" cy="{(y0 + y1) / 2}" rx="{(x1 - x0) / 2}" '
                f'ry="{(y1 - y0) / 2}" fill="{fill}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size: int):
    """The icon as a Pillow image, drawn 4x larger and downsampled (smooth edges)."""
    from PIL import Image, ImageDraw

    scale = 4 * size / SIZE
    big = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    for kind, p, fill in SHAPES:
        box = [v * scale for v in p[:4]]
        if kind == "rounded":
            draw.rounded_rectangle(box, radius=p[4] * scale, fill=fill)
        elif kind == "rect":
            draw.rectangle(box, fill=fill)
        else:
            draw.ellipse(box, fill=fill)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    RESOURCES.mkdir(exist_ok=True)
    (RESOURCES / "corebt-viewer.svg").write_text(svg())
    png(256).save(RESOURCES / "corebt-viewer.png")
    png(512).save(RESOURCES / "corebt-viewer-512.png")
    print(f"icons written to {RESOURCES}")


if __name__ == "__main__":
    main()
