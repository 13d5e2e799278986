"""Sources: folder, HTTP, s3 (moto on loopback) and an open-data API stub on loopback;
bad input skipped or rejected as configured, with the records read kept."""

import json
import logging
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from make_fixtures import KOREAN, write_hwp, write_pdf  # noqa: E402
from nuri_testing import write_domain  # noqa: E402
from nuri.config import load_domain_config  # noqa: E402
from nuri.data.ingest import ingest  # noqa: E402
from nuri.errors import DataError  # noqa: E402
from nuri.preflight import preflight  # noqa: E402

KEY = "sEcReT-service-key-123"
BODY = "기초연금 안내 문서입니다. 만 65세 이상 어르신 중 소득 하위 70%가 받습니다."


class Stub(BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {}
    requests: list[str] = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        Stub.requests.append(self.path)
        url = urlparse(self.path)
        if url.path.startswith("/api/"):
            return self._api(url)
        if url.path not in self.files:
            self.send_response(404)
            self.end_headers()
            return
        ctype, body = self.files[url.path]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _api(self, url):
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        page, rows = int(q["pageNo"]), int(q["numOfRows"])
        total = 5
        if q.get("serviceKey") != KEY:
            header = {"resultCode": "30", "resultMsg": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR"}
            items = []
        else:
            header = {"resultCode": "00", "resultMsg": "NORMAL SERVICE."}
            items = [{"billId": f"B{i}", "billName": f"복지법 개정안 {i}", "summary": f"{BODY} 제{i}조를 고친다."}
                     for i in range((page - 1) * rows + 1, min(page * rows, total) + 1)]
        if url.path == "/api/xml":
            xs = "".join(f"<item><billId>{i['billId']}</billId><billName>{i['billName']}</billName>"
                         f"<summary>{i['summary']}</summary></item>" for i in items)
            body = (f"<response><header><resultCode>{header['resultCode']}</resultCode></header><body>"
                    f"<items>{xs}</items><totalCount>{total}</totalCount></body></response>").encode()
            ctype = "application/xml"
        else:
            body = json.dumps({"response": {"header": header, "body": {
                "items": {"item": items}, "totalCount": total}}}, ensure_ascii=False).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stub")
    Stub.files = {
        "/docs/a.txt": ("text/plain", BODY.encode()),
        "/docs/leaflet": ("application/pdf", write_pdf(tmp / "l.pdf").read_bytes()),
        "/docs/b.hwp": ("application/octet-stream", write_hwp(tmp / "b.hwp").read_bytes()),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _domain(tmp_path, data):
    return load_domain_config(write_domain(tmp_path, {"data": {"corpus": None, **data}}))


def _docs(raw):
    return [json.loads(line) for line in (raw / "documents.jsonl").read_text(encoding="utf-8").splitlines()]


def test_http_sources(tmp_path, stub):
    cfg = _domain(tmp_path, {"sources": [{"kind": "http", "name": "portal", "licence": "KOGL-1",
                                          "urls": [f"{stub}/docs/a.txt", f"{stub}/docs/leaflet", f"{stub}/docs/b.hwp",
                                                   f"{stub}/docs/missing.txt"]}],
                             "on_bad_input": "skip"})
    r = ingest(cfg, tmp_path / "raw")
    docs = _docs(tmp_path / "raw")
    assert r.documents == 3 and r.bad_inputs == {"HTTP 404": 1}
    portal = [d for d in docs if d["origin"] == "portal"]
    assert [d["format"] for d in portal] == ["txt", "pdf", "hwp"]
    assert all(KOREAN in d["text"] for d in portal[1:]) and portal[0]["licence"] == "KOGL-1"
    bad = [json.loads(line) for line in (tmp_path / "raw" / "bad_inputs.jsonl").read_text().splitlines()]
    assert bad == [{"source": "portal", "file": f"{stub}/docs/missing.txt", "position": "", "reason": "HTTP 404"}]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open_data_api_pages_and_hides_the_key(tmp_path, stub, monkeypatch, caplog, fmt):
    monkeypatch.setenv("TEST_PORTAL_KEY", KEY)
    Stub.requests.clear()
    src = {"kind": "open_data_api", "name": "bills", "url": f"{stub}/api/{fmt}", "response_format": fmt,
           "service_key_env": "TEST_PORTAL_KEY", "page_size": 2, "text_fields": ["billName", "summary"],
           "id_field": "billId", "licence": "public-domain (Copyright Act art. 7)"}
    if fmt == "xml":
        src["items_path"] = "response.body.items.item"
    caplog.set_level(logging.DEBUG)
    r = ingest(_domain(tmp_path, {"sources": [src]}), tmp_path / "raw")
    docs = _docs(tmp_path / "raw")
    assert r.documents == 5 and [d["id"] for d in docs] == [f"bills:B{i}" for i in range(1, 6)]
    assert docs[0]["text"].startswith("복지법 개정안 1\n\n기초연금")
    assert len(Stub.requests) == 3  # pages of 2, 2, 1
    # The key goes to the portal and nowhere else.
    assert all(KEY in q for q in Stub.requests)
    everything = caplog.text + "".join(p.read_text() for p in (tmp_path / "raw").iterdir())
    assert KEY not in everything


def test_open_data_api_errors(tmp_path, stub, monkeypatch):
    src = {"kind": "open_data_api", "url": f"{stub}/api/json", "service_key_env": "TEST_PORTAL_KEY",
           "text_fields": ["summary"]}
    monkeypatch.delenv("TEST_PORTAL_KEY", raising=False)
    cfg = _domain(tmp_path, {"sources": [src]})
    with pytest.raises(DataError, match="set TEST_PORTAL_KEY"):
        preflight(cfg)
    monkeypatch.setenv("TEST_PORTAL_KEY", "wrong")
    with pytest.raises(DataError, match=r"page 1: API error 30 SERVICE_KEY_IS_NOT_REGISTERED_ERROR"):
        ingest(cfg, tmp_path / "raw")


def test_s3_source_streams_objects(tmp_path, monkeypatch):
    from moto.server import ThreadedMotoServer

    from nuri.storage import open_storage

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("NURI_S3_ENDPOINT", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
        store = open_storage("s3://corpora")
        store.client.make_bucket("corpora")
        store.put_bytes("welfare/2024/a.txt", BODY.encode())
        store.put_file("welfare/2024/b.hwp", write_hwp(tmp_path / "b.hwp"))
        store.put_bytes("welfare/readme.bin", b"skipped: unknown suffix")
        cfg = _domain(tmp_path, {"sources": [{"kind": "s3", "uri": "s3://corpora/welfare", "name": "minio"}]})
        assert preflight(cfg)["documents"] == 2
        r = ingest(cfg, tmp_path / "raw")
        assert r.documents == 2
        assert [d["id"] for d in _docs(tmp_path / "raw")] == ["minio:2024/a.txt", "minio:2024/b.hwp"]
    finally:
        server.stop()


def _mixed_folder(tmp_path):
    c = tmp_path / "mixed"
    c.mkdir()
    (c / "a.txt").write_text(BODY, encoding="utf-8")
    (c / "b.txt").write_bytes("복지 안내".encode("cp949"))
    (c / "c.jsonl").write_text(json.dumps({"text": BODY + " 둘"}, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    (c / "d.docx").write_bytes(b"PK\x03\x04 not really")
    (c / "e.txt").write_text(BODY + " 셋", encoding="utf-8")
    return c


def test_bad_input_skip_reports_file_and_position(tmp_path):
    c = _mixed_folder(tmp_path)
    cfg = _domain(tmp_path, {"sources": [{"path": str(c), "name": "mixed"}], "on_bad_input": "skip"})
    r = ingest(cfg, tmp_path / "raw")
    assert r.documents == 3
    bad = [json.loads(line) for line in (tmp_path / "raw" / "bad_inputs.jsonl").read_text().splitlines()]
    assert [(Path(b["file"]).name, b["position"]) for b in bad] == [("b.txt", "file"), ("c.jsonl", "line 2"),
                                                                   ("d.docx", "file")]
    assert sum(r.bad_inputs.values()) == 3


def test_bad_input_reject_stops_but_keeps_what_was_read(tmp_path):
    c = _mixed_folder(tmp_path)
    cfg = _domain(tmp_path, {"sources": [{"path": str(c), "name": "mixed"}]})  # reject is the default
    with pytest.raises(DataError, match=re.escape(f"{c / 'b.txt'}: not valid UTF-8 (byte 0)")):
        ingest(cfg, tmp_path / "raw")
    kept = (tmp_path / "raw" / "documents.partial.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(kept) == 1 and json.loads(kept[0])["id"] == "mixed:a.txt"
    assert not (tmp_path / "raw" / "documents.jsonl").exists()


def test_legacy_corpus_key_still_works(tmp_path):
    cfg = load_domain_config(write_domain(tmp_path))
    assert [s.kind for s in cfg.data.all_sources()] == ["folder"]
    with pytest.raises(Exception, match="give corpus: or sources:"):
        _domain(tmp_path, {})
