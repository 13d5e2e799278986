"""Small documents in every supported format, written by code so no binary is committed.

DOCX through python-docx; HWPX as the zip of OWPML XML it is; HWP 5 as a minimal OLE
compound file (written here: no library on the registry writes HWP) holding a FileHeader
and an uncompressed BodyText/Section0 of PARA_HEADER/PARA_TEXT records as the published
HWP 5.0 format describes them; PDF by hand with a Type0 font whose ToUnicode map makes
Korean text extractable. Run as a script to write them all into a folder:

    python tests/data/make_fixtures.py OUT_DIR
"""

from __future__ import annotations

import struct
import sys
import zipfile
from pathlib import Path

KOREAN = "기초연금은 만 65세 이상 어르신 중 소득 하위 70%에게 지급됩니다."
KOREAN2 = "신청은 주소지 행정복지센터나 국민연금공단 지사에서 할 수 있습니다."


def write_docx(path: Path, paragraphs=(KOREAN, KOREAN2), table=(("구분", "금액"), ("단독가구", "월 334,810원"))):
    import docx

    d = docx.Document()
    d.core_properties.title = "기초연금 안내"
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, cell in enumerate(row):
                t.cell(i, j).text = cell
    d.save(str(path))
    return path


def write_hwpx(path: Path, paragraphs=(KOREAN, KOREAN2)):
    hp = "http://www.hancom.co.kr/hwpml/2011/paragraph"
    hs = "http://www.hancom.co.kr/hwpml/2011/section"
    paras = "".join(f'<hp:p id="{i}" paraPrIDRef="0" styleIDRef="0"><hp:run charPrIDRef="0"><hp:t>{t}</hp:t>'
                    f"</hp:run></hp:p>" for i, t in enumerate(paragraphs))
    section = f'<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="{hs}" xmlns:hp="{hp}">{paras}</hs:sec>'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/hwp+zip")
        z.writestr("version.xml", '<?xml version="1.0" encoding="UTF-8"?><hv:HCFVersion '
                                  'xmlns:hv="http://www.hancom.co.kr/hwpml/2011/version" major="5" minor="1"/>')
        z.writestr("Contents/content.hpf", '<?xml version="1.0" encoding="UTF-8"?><opf:package '
                                           'xmlns:opf="http://www.idpf.org/2007/opf/"><opf:spine>'
                                           '<opf:itemref idref="section0"/></opf:spine></opf:package>')
        z.writestr("Contents/section0.xml", section)
    return path


# --- HWP 5: a minimal OLE compound file ---------------------------------------------------

_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _record(tag: int, level: int, payload: bytes) -> bytes:
    assert len(payload) < 0xFFF
    return struct.pack("<I", tag | (level << 10) | (len(payload) << 20)) + payload


def hwp_section(paragraphs) -> bytes:
    out = b""
    for text in paragraphs:
        chars = text + "\r"
        out += _record(0x10 + 50, 0, struct.pack("<IIHBBIHHH", len(chars), 0, 0, 0, 0, 0, 1, 0, 0)[:22])
        out += _record(0x10 + 51, 1, chars.encode("utf-16-le"))
    return out


def _dir_entry(name: str, typ: int, left=_NOSTREAM, right=_NOSTREAM, child=_NOSTREAM, start=_END, size=0) -> bytes:
    raw = (name + "\0").encode("utf-16-le") if name else b""
    e = raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), typ, 1 if typ else 0)
    e += struct.pack("<III", left, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
    return e + struct.pack("<III", start, size, 0)


def write_hwp(path: Path, paragraphs=(KOREAN, KOREAN2), encrypted=False):
    """Streams are padded to 4096 bytes so all live in regular sectors (no mini stream)."""
    header = b"HWP Document File".ljust(32, b"\0") + struct.pack("<II", 0x05000300, 0x02 if encrypted else 0)
    streams = {"FileHeader": header.ljust(4096, b"\0"),
               "Section0": hwp_section(paragraphs).ljust(4096, b"\0")}
    sectors: list[bytes] = []
    fat = [_FATSECT, _END]  # sector 0: FAT, sector 1: directory
    starts = {}
    for name, data in streams.items():
        if len(data) % 512:
            data = data.ljust((len(data) // 512 + 1) * 512, b"\0")
            streams[name] = data
        n = len(data) // 512
        starts[name] = len(fat)
        first = len(fat)
        fat += [first + i + 1 for i in range(n - 1)] + [_END]
        sectors += [data[i * 512:(i + 1) * 512] for i in range(n)]
    assert len(fat) <= 128
    fat_sector = struct.pack("<128I", *(fat + [_FREE] * (128 - len(fat))))
    # Root(0) -> child FileHeader(1) [left: BodyText(2) -> child Section0(3)]
    directory = (_dir_entry("Root Entry", 5, child=1)
                 + _dir_entry("FileHeader", 2, left=2, start=starts["FileHeader"], size=len(header.ljust(4096, b"\0")))
                 + _dir_entry("BodyText", 1, child=3)
                 + _dir_entry("Section0", 2, start=starts["Section0"], size=len(streams["Section0"])))
    hdr = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    hdr += b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
    hdr += struct.pack("<I", 0) + struct.pack("<108I", *([_FREE] * 108))
    assert len(hdr) == 512
    Path(path).write_bytes(hdr + fat_sector + directory + b"".join(sectors))
    return path


# --- PDF with extractable Korean text ---------------------------------------------------

def write_pdf(path: Path, lines=(KOREAN, KOREAN2)):
    def hexs(s: str) -> str:
        return "<" + "".join(f"{ord(c):04X}" for c in s) + ">"

    content = "BT /F1 12 Tf 50 800 Td " + " ".join(f"{hexs(line)} Tj 0 -20 Td" for line in lines) + " ET"
    highs = sorted({ord(c) >> 8 for line in lines for c in line})
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Uni def /CMapType 2 def "
            "1 begincodespacerange <0000> <FFFF> endcodespacerange "
            f"{len(highs)} beginbfrange "
            + " ".join(f"<{h:02X}00> <{h:02X}FF> <{h:02X}00>" for h in highs)
            + " endbfrange endcmap CMapName currentdict /CMap defineresource pop end end")
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type0 /BaseFont /NanumGothic /Encoding /Identity-H "
        "/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NanumGothic /CIDSystemInfo << /Registry (Adobe) "
        "/Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R /CIDToGIDMap /Identity /DW 1000 >>",
        f"<< /Length {len(cmap)} >>\nstream\n{cmap}\nendstream",
        "<< /Type /FontDescriptor /FontName /NanumGothic /Flags 4 /FontBBox [0 -200 1000 800] /ItalicAngle 0 "
        "/Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>",
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    Path(path).write_bytes(out)
    return path


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [write_docx(out / "guide.docx"), write_hwpx(out / "notice.hwpx"), write_hwp(out / "notice.hwp"),
            write_pdf(out / "leaflet.pdf")]


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures")):
        print(p)
