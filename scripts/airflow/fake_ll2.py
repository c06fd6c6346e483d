"""A stand-in for Launch Library 2 on 127.0.0.1 for the Airflow demo: serves the bundled real
snapshot of upcoming launches with every image URL pointed at itself, and a small PNG for each.

    python3 fake_ll2.py PORT SNAPSHOT.json

The launches: http://127.0.0.1:PORT/2.0.0/launch/upcoming/
"""
import http.server
import json
import struct
import sys
import zlib

PORT = int(sys.argv[1])
BASE = f"http://127.0.0.1:{PORT}"

with open(sys.argv[2], encoding="utf-8") as f:
    DOC = json.load(f)
for i, launch in enumerate(DOC["results"]):
    if launch.get("image"):
        launch["image"] = f"{BASE}/images/launch_{i}.png"
LAUNCHES = json.dumps(DOC).encode()


def png(seed):
    """A valid 64x64 grey PNG, a different shade per image."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([seed % 256]) * 64 for _ in range(64))
    header = struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        if path.rstrip("/") == "/2.0.0/launch/upcoming":
            body, kind = LAUNCHES, "application/json"
        elif path.startswith("/images/launch_") and path.endswith(".png"):
            body, kind = png(int(path[len("/images/launch_") : -4])), "image/png"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
