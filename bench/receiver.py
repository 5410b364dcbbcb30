"""A fast outbound-webhook receiver for the delivery benchmark: answers every POST with 200
and counts deliveries by their ``webhook-id`` header (lost and duplicated ones show).

asyncio with a minimal HTTP/1.1 parser (keep-alive, Content-Length bodies): one process
answers many thousands of requests a second, so it is never what a worker waits for; the
benchmark measures it with wrk to show that. ``GET /stats`` answers the counts as JSON, ``GET /reset`` zeroes them.

    python -m bench.receiver PORT [LIFETIME_SECONDS]   (stops by itself after that; default 900)
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Counts:
    def __init__(self):
        self.ids: Counter[str] = Counter()
        self.requests = 0

    def as_json(self) -> bytes:
        duplicated = sum(n - 1 for n in self.ids.values() if n > 1)
        body = json.dumps({"requests": self.requests, "distinct": len(self.ids), "duplicated": duplicated}).encode()
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Connection(asyncio.Protocol):
    def __init__(self, counts: Counts):
        self.counts = counts
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", 0))
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            if head[0].startswith("GET /stats"):
                self.transport.write(self.counts.as_json())
            elif head[0].startswith("GET /reset"):
                self.counts.__init__()
                self.transport.write(OK)
            else:
                self.counts.requests += 1
                if "webhook-id" in headers:
                    self.counts.ids[headers["webhook-id"]] += 1
                self.transport.write(OK)
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                return


async def serve(port: int, lifetime: float) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(counts), "127.0.0.1", port, backlog=1024)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        try:
            await asyncio.wait_for(server.serve_forever(), lifetime)
        except TimeoutError:
            pass


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 900.0))
