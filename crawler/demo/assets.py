"""Static assets of the demo site, generated in memory: PNG pictures, a one-page PDF press kit, a stylesheet."""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import cache


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG image of one flat colour with a darker diagonal band (so thumbnails are not all alike)."""
    dark = tuple(max(0, channel - 60) for channel in rgb)
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(dark if abs(x * height - y * width) < width * 2 else rgb)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


@cache
def logo_png() -> bytes:
    """The site logo (a small navy rectangle)."""
    return png(120, 40, (24, 48, 96))


@cache
def picture_png(slug: str) -> bytes:
    """The lead picture of an article: 160x90, its colour derived from the slug."""
    digest = hashlib.sha1(slug.encode()).digest()
    return png(160, 90, (80 + digest[0] % 150, 80 + digest[1] % 150, 80 + digest[2] % 150))


@cache
def press_kit_pdf(site_name: str) -> bytes:
    """A one-page PDF (valid, with a correct cross-reference table) describing the site."""
    text = f"{site_name} - press kit. Logos, editorial contacts and audience figures."
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


STYLESHEET = """\
body{font-family:Georgia,serif;margin:0;color:#222;background:#fff}
a{color:#18306a}
.site-header,.masthead{background:#18306a;color:#fff;padding:8px 24px}
.site-header a,.masthead a{color:#fff}
.main-menu ul,.primary-nav ul{list-style:none;display:flex;gap:16px;margin:0;padding:0}
.breadcrumbs,.breadcrumb{font-size:13px;padding:8px 24px;color:#666}
.breadcrumb ol{list-style:none;display:inline;margin:0;padding:0}
.breadcrumb li{display:inline}
.container,.site-main{display:flex;gap:32px;padding:0 24px}
.content-area,.story{flex:3}
.widget-area,.rail{flex:1;font-size:14px}
figure img{max-width:100%}
figcaption{font-size:13px;color:#555}
.author-box,.author-bio{border-top:1px solid #ccc;margin-top:24px;padding-top:12px}
.cookie-notice,.cookie-banner{position:fixed;bottom:0;left:0;right:0;background:#333;color:#fff;padding:12px}
.site-footer{background:#eee;padding:24px;margin-top:32px;font-size:13px}
.teaser{display:flex;gap:12px;margin:16px 0}
.pagination a,.pagination span{margin-right:8px}
"""
