"""Every format reads Korean text; broken input becomes a Bad with its position."""

import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from make_fixtures import KOREAN, KOREAN2, write_docx, write_hwp, write_hwpx, write_pdf  # noqa: E402
from nuri.data.formats import Bad, Item, ReadContext, read_file  # noqa: E402


def items(path, ctx=ReadContext()):
    out = list(read_file(path, ctx))
    return [i for i in out if isinstance(i, Item)], [b for b in out if isinstance(b, Bad)]


def test_office_and_hangul_formats(tmp_path):
    for writer, name in ((write_docx, "a.docx"), (write_hwpx, "a.hwpx"), (write_hwp, "a.hwp"), (write_pdf, "a.pdf")):
        good, bad = items(writer(tmp_path / name))
        assert not bad and len(good) == 1, name
        assert KOREAN in good[0].text and KOREAN2 in good[0].text, name
    good, _ = items(tmp_path / "a.docx")
    assert "단독가구 | 월 334,810원" in good[0].text  # tables too


def test_text_markdown_html(tmp_path):
    (tmp_path / "a.md").write_text("# 제목\n본문", encoding="utf-8")
    (tmp_path / "a.html").write_bytes("<html><head><meta charset='euc-kr'><title>공지</title></head><body>"
                                      "<nav>메뉴</nav><p>본문 안내</p><script>x</script></body></html>".encode("cp949"))
    md, _ = items(tmp_path / "a.md")
    assert md[0].markup == "md"
    page, bad = items(tmp_path / "a.html")
    assert not bad and "본문 안내" in page[0].text and "메뉴" not in page[0].text and page[0].text.startswith("공지")


def test_wrong_encoding_reported_or_decoded(tmp_path):
    (tmp_path / "old.txt").write_bytes("복지 안내".encode("cp949"))
    _, bad = items(tmp_path / "old.txt")
    assert "not valid UTF-8 (byte 0)" in bad[0].reason
    good, bad = items(tmp_path / "old.txt", ReadContext(encodings=("utf-8", "cp949")))
    assert good[0].text == "복지 안내" and not bad


def test_jsonl_and_csv_report_bad_records_and_keep_good(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"id": "x", "text": "하나"}\n{"text": \n{"title": "없음"}\n[1]\n'
                                      '{"text": "둘"}\n', encoding="utf-8")
    good, bad = items(tmp_path / "d.jsonl")
    assert [g.text for g in good] == ["하나", "둘"] and good[0].key == "x" and good[1].key == "#5"
    assert [b.position for b in bad] == ["line 2", "line 3", "line 4"]
    (tmp_path / "d.csv").write_text("번호,제목,내용\n1,가,첫 문서\n2,나,\n3,다,셋째 문서,남는칸\n4,라,\"넷째\n문서\"\n",
                                    encoding="utf-8")
    good, bad = items(tmp_path / "d.csv")
    assert [g.text for g in good] == ["첫 문서", "넷째\n문서"] and good[0].key == "1" and good[0].meta == {"제목": "가"}
    assert [b.position for b in bad] == ["line 3", "line 4"]


def test_corrupt_archives_and_unknown_files(tmp_path):
    p = write_docx(tmp_path / "c.docx")
    p.write_bytes(p.read_bytes()[:300])
    assert "corrupt DOCX archive" in items(p)[1][0].reason
    (tmp_path / "c.hwpx").write_bytes(b"PK\x03\x04 broken")
    assert "corrupt HWPX archive" in items(tmp_path / "c.hwpx")[1][0].reason
    (tmp_path / "c.hwp").write_bytes(b"HWP Document File V3.00")
    assert "not an HWP 5 file" in items(tmp_path / "c.hwp")[1][0].reason
    assert "encrypted" in items(write_hwp(tmp_path / "e.hwp", encrypted=True))[1][0].reason
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.7\n garbage")
    assert items(tmp_path / "c.pdf")[1]
    (tmp_path / "c.zip").write_bytes(b"not a zip")
    assert "corrupt archive" in items(tmp_path / "c.zip")[1][0].reason


def test_zip_of_documents(tmp_path):
    write_hwp(tmp_path / "x.hwp")
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as z:
        z.write(tmp_path / "x.hwp", "2024/x.hwp")
        z.writestr("2024/y.txt", "텍스트 문서")
        z.writestr("2024/bad.txt", "복지".encode("cp949"))
    good, bad = items(tmp_path / "bundle.zip")
    assert [g.key for g in good] == ["2024/x.hwp", "2024/y.txt"]
    assert bad[0].position.startswith("2024/bad.txt")
