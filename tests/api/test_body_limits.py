"""Request bodies over a route's limit are refused while they arrive, over a raw connection as any
client could send them: a 2 GB Content-Length is answered 413 before a byte of the body is sent, on
`/api/v1` as problem details and on `/v1` in OpenAI's shape; a 2 GB upload sent chunked, without a
length, is cut off with a 413 a few MB in, while the API's memory and the disk grow by under 20 MB."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from urllib.parse import urlsplit

import psutil

from tests.api.conftest import API_KEY, serving

TWO_GB = 2_000_000_000
UPLOAD_LIMIT = 8_000_000
CHUNK = b"x" * (1 << 20)


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def _request_head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n{extra}\r\n".encode()


async def test_a_declared_2_gb_body_is_refused_before_it_is_sent(nats_server):  # type: ignore[no-untyped-def]
    async with serving(nats_server.url, max_upload_bytes=UPLOAD_LIMIT) as url:
        answers = {}
        for path in ("/api/v1/jobs", "/v1/chat/completions", "/api/v1/datasets"):
            reader, writer = await _open(url)
            writer.write(_request_head(path, f"Content-Type: application/json\r\nContent-Length: {TWO_GB}\r\n"))
            await writer.drain()
            answers[path] = await asyncio.wait_for(_response(reader), timeout=10)
            writer.close()
    for path, (status, _, body) in answers.items():
        assert status == 413, (path, body)
    problem = json.loads(answers["/api/v1/jobs"][2])
    assert answers["/api/v1/jobs"][1]["content-type"] == "application/problem+json"
    assert problem["code"] == "body_too_large" and "limit" in problem["detail"], problem
    openai_shaped = json.loads(answers["/v1/chat/completions"][2])
    assert openai_shaped["error"]["code"] == "body_too_large", openai_shaped


async def test_a_chunked_2_gb_upload_is_cut_off_at_the_limit_with_little_memory_or_disk(nats_server):  # type: ignore[no-untyped-def]
    me, spool = psutil.Process(), tempfile.gettempdir()
    async with serving(nats_server.url, max_upload_bytes=UPLOAD_LIMIT) as url:
        rss_before, disk_before = me.memory_info().rss, shutil.disk_usage(spool).used
        peak = {"rss": rss_before, "disk": disk_before}
        reader, writer = await _open(url)
        boundary = "greentune-test"
        head = f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n"
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'
        writer.write(_request_head("/api/v1/datasets", head) + _chunk(part.encode()))
        answer = asyncio.create_task(_response(reader))
        sent = 0
        while not answer.done() and sent < TWO_GB:
            try:
                writer.write(_chunk(CHUNK))
                await writer.drain()
            except ConnectionError:
                break  # the API answered and closed the connection
            sent += len(CHUNK)
            peak["rss"] = max(peak["rss"], me.memory_info().rss)
            peak["disk"] = max(peak["disk"], shutil.disk_usage(spool).used)
        status, _, body = await asyncio.wait_for(answer, timeout=30)
        writer.close()
    grew = {k: (peak[k] - before) / 2**20 for k, before in (("rss", rss_before), ("disk", disk_before))}
    print(f"\n413 after {sent / 2**20:.0f} MiB sent; API memory +{grew['rss']:.1f} MiB, disk +{grew['disk']:.1f} MiB")
    assert status == 413, body
    assert json.loads(body)["code"] == "body_too_large"
    assert sent < 64 * len(CHUNK), f"the API read {sent:,} bytes before refusing"
    assert grew["rss"] < 20 and grew["disk"] < 20, grew


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
