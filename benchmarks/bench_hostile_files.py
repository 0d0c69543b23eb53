"""Hostile files through `glmv inspect`: wall time, exit status and the child's peak memory.

Target (issue 13): `glmv inspect` on a 3 MB .pptx holding one 3 GB zero-filled media member (and a .docx built
the same way) refuses it in well under a second and under 500 MB peak; before the archive check it took 6 GB and
41 s. The bombs are real: the members hold the zeros they declare, deflated. Also times the hand-made PDFs whose
page tree lies. Run: .venv/bin/python benchmarks/bench_hostile_files.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB = 500
ZEROS = 3 * 10**9


def real_bomb(base: Path, out: Path, member: str, size: int) -> Path:
    """``base`` with one more member of ``size`` zero bytes, really deflated (about 3 MB for 3 GB)."""
    out.write_bytes(base.read_bytes())
    block = bytes(16 << 20)
    with (
        zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open(member, "w", force_zip64=True) as f,
    ):
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return out


def inspect(path: Path) -> tuple[int, float, float, str]:
    """(exit status, seconds, peak RSS of the child in MB, last stderr line) of `glmv inspect PATH`."""
    started = time.monotonic()
    err = path.with_suffix(".stderr")
    with open(err, "wb") as errors:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "app.cli", "inspect", str(path)],
            {**os.environ, "PYTHONPATH": str(ROOT)},
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, errors.fileno(), 2),
            ],
        )
        _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - started
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024**2
    lines = err.read_text(errors="replace").strip().splitlines()
    return os.waitstatus_to_exitcode(status), seconds, peak_mb, lines[-1] if lines else ""


def main() -> int:
    from pptx import Presentation

    from tests.support.documents import HOSTILE, hand_made_pdf, minimal_docx

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        deck = folder / "base.pptx"
        prs = Presentation()
        prs.slides.add_slide(prs.slide_layouts[5]).shapes.title.text = "A deck with a bomb in it"
        prs.save(deck)
        started = time.monotonic()
        files = [
            real_bomb(deck, folder / "bomb.pptx", "ppt/media/media1.bin", ZEROS),
            real_bomb(minimal_docx(folder / "base.docx"), folder / "bomb.docx", "word/media/image1.png", ZEROS),
        ]
        print(f"built two bombs of {ZEROS / 10**9:.0f} GB of zeros each in {time.monotonic() - started:.0f} s")
        files += [hand_made_pdf(folder / f"{name}.pdf", *objects) for name, objects in sorted(HOSTILE.items())]
        for path in files:
            status, seconds, peak_mb, last = inspect(path)
            bomb = path.suffix != ".pdf"
            ok = status in (0, 2) and "Traceback" not in last and (not bomb or (status == 2 and peak_mb < TARGET_MB))
            failed |= not ok
            print(
                f"{path.name:28} {path.stat().st_size / 1e6:7.2f} MB file  exit {status}  {seconds:5.2f} s  "
                f"peak RSS {peak_mb:5.0f} MB  {'ok' if ok else 'FAIL'}"
            )
            print(f"    {last[:200]}")
    print(f"target: bombs refused (exit 2) under {TARGET_MB} MB peak; no traceback for any file")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
