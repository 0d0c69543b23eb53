"""Renders resources/icons/app.svg into the raster icons the installers need: PNGs in the freedesktop hicolor
layout (Linux .desktop entries, AppImage), a multi-size .ico (Windows) and an .icns (macOS).

Run it again after changing app.svg: `.venv/bin/python packaging/render_icons.py`. Qt's SVG renderer draws the
icon exactly as the running app does; Pillow packs the .ico and .icns.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "app.svg"
OUT = ROOT / "resources" / "icons"
NAME = "glmv-desktop"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int) -> bytes:
    """PNG bytes of the SVG drawn at ``size`` x ``size`` on a transparent background."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    pngs = {size: render(size) for size in SIZES}
    for size, png in pngs.items():
        path = OUT / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    largest = Image.open(io.BytesIO(pngs[256]))
    largest.save(OUT / "glmv.ico", sizes=[(s, s) for s in ICO_SIZES])
    Image.open(io.BytesIO(pngs[512])).save(OUT / "glmv.icns")
    del app
    print(f"rendered {len(SIZES)} PNGs, glmv.ico and glmv.icns into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
