"""A seeded mix of hostile HTTP requests, and a run of them against the app in process.

Used by tests/security/test_hostile.py (a few thousand) and bench/bench_hostile.py (10,000+).
Among the hostile requests are replays of one genuinely signed Twilio message and one genuine
Telegram update: each must be stored once, and nothing else may change a single row.
"""

import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.services import Services
from tests.security.harness import (
    FORM,
    TG_SECRET,
    TWILIO_URL,
    inbound_form,
    snapshot,
    telegram_update,
    twilio_signature,
)

REPLAY_FORM = inbound_form("SM" + "7" * 32, "+221770000001", "bonjour, message authentique")
REPLAY_UPDATE = telegram_update(987654, 555000111, "message authentique")
UNKNOWN_PATHS = [
    "/wp-admin",
    "/.env",
    "/.git/config",
    "/static/../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/api/v2/x",
    "/webhooks/x" * 50,
]
CHANGED_BY_REPLAYS = {"messages": 2, "inbound_receipts": 2}  # one Twilio, one Telegram


@dataclass(frozen=True, slots=True)
class Hostile:
    """One request to send, and what kind of attack it is."""

    kind: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    chunked: bool = False


@dataclass
class RunReport:
    """What the server answered."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # "kind: status"
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def p99_ms(self) -> float:
        """99th percentile latency in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0


def _form(data: dict[str, str]) -> bytes:
    return httpx.QueryParams(data).__str__().encode()


def _signed(url: str, data: dict[str, str]) -> dict[str, str]:
    return {"content-type": FORM, "X-Twilio-Signature": twilio_signature(url, data)}


def _twilio(r: random.Random) -> Hostile:
    sid = "SM" + "".join(r.choices("0123456789abcdef", k=32))
    data = inbound_form(sid, f"+2217700{r.randrange(10**5):05d}", "oui " * r.randrange(5))
    variant = r.randrange(6)
    if variant == 0:
        return Hostile(
            "twilio_unsigned", "POST", "/webhooks/twilio", {"content-type": FORM}, _form(data)
        )
    if variant == 1:
        bad = {"content-type": FORM, "X-Twilio-Signature": r.randbytes(20).hex()}
        return Hostile("twilio_bad_signature", "POST", "/webhooks/twilio", bad, _form(data))
    if variant == 2:  # signed for the URL the proxy sees, not the public one
        headers = _signed("http://10.0.0.5:8000/webhooks/twilio", data)
        return Hostile("twilio_wrong_url", "POST", "/webhooks/twilio", headers, _form(data))
    if variant == 3:  # a valid signature, then one parameter changed
        headers = _signed(TWILIO_URL, data)
        key = r.choice(["Body", "From", "MessageSid", "To"])
        changed = {**data, key: data[key] + r.choice(["1", " ", "STOP"])}
        return Hostile(
            "twilio_changed_after_signing", "POST", "/webhooks/twilio", headers, _form(changed)
        )
    if variant == 4:  # a replay of the genuine message with one parameter changed
        headers = _signed(TWILIO_URL, REPLAY_FORM)
        changed = {**REPLAY_FORM, "Body": "STOP"}
        return Hostile("twilio_replay_changed", "POST", "/webhooks/twilio", headers, _form(changed))
    status = {"MessageSid": sid, "MessageStatus": r.choice(["failed", "delivered", "read"])}
    return Hostile("status_bad_signature", "POST", "/webhooks/twilio/status",
                   {"content-type": FORM, "X-Twilio-Signature": "x"}, _form(status))  # fmt: skip


def _replay(r: random.Random) -> Hostile:
    if r.random() < 0.5:
        headers = _signed(TWILIO_URL, REPLAY_FORM)
        return Hostile(
            "twilio_valid_replay", "POST", "/webhooks/twilio", headers, _form(REPLAY_FORM)
        )
    headers = {"content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    body = json.dumps(REPLAY_UPDATE).encode()
    return Hostile("telegram_valid_replay", "POST", "/webhooks/telegram", headers, body)


def _telegram(r: random.Random) -> Hostile:
    update = telegram_update(r.randrange(10**9), r.randrange(10**9), "salut")
    body = json.dumps(update).encode()
    variant = r.randrange(5)
    json_type = {"content-type": "application/json"}
    if variant == 0:
        return Hostile("telegram_no_secret", "POST", "/webhooks/telegram", json_type, body)
    if variant == 1:
        wrong = {**json_type, "X-Telegram-Bot-Api-Secret-Token": TG_SECRET[:-1] + "X"}
        return Hostile("telegram_wrong_secret", "POST", "/webhooks/telegram", wrong, body)
    good = {**json_type, "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    if variant == 2:
        junk = r.choice(
            [b"{", b"[]", b"null", b'{"update_id": "1"}', body[: r.randrange(len(body))]]
        )
        return Hostile("telegram_malformed_json", "POST", "/webhooks/telegram", good, junk)
    if variant == 3:
        bad = body.replace(b"salut", b"sa\\ud800lut")  # a lone surrogate: not storable text
        return Hostile("telegram_invalid_unicode", "POST", "/webhooks/telegram", good, bad)
    wrong_type = {**good, "content-type": "text/plain"}
    return Hostile("telegram_wrong_content_type", "POST", "/webhooks/telegram", wrong_type, body)


def _body_attack(r: random.Random) -> Hostile:
    path = r.choice(["/webhooks/twilio", "/webhooks/telegram", "/login", "/api/v1/returnees"])
    variant = r.randrange(6)
    if variant == 0:
        big = b"Body=" + b"a" * (64 * 1024 + r.randrange(1, 2 * 1024 * 1024))
        return Hostile("oversized", "POST", path, {"content-type": FORM}, big)
    if variant == 1:
        big = b"x" * (64 * 1024 + r.randrange(1, 256 * 1024))
        return Hostile("oversized_chunked", "POST", path, {"content-type": FORM}, big, chunked=True)
    if variant == 2:
        ctype = r.choice(["application/xml", "multipart/form-data; boundary=zz", "text/html", ""])
        return Hostile("wrong_content_type", "POST", path, {"content-type": ctype}, b"<a>1</a>")
    if variant == 3:
        junk = r.choice([b"a=%zz&&==&b", b"%", b"=" * 50, b"&" * 3000, b"a=b;c=d\x00"])
        return Hostile("malformed_form", "POST", path, {"content-type": FORM}, junk)
    if variant == 4:
        junk = b"Body=\xff\xfe\xed\xa0\x80&From=\xc3(" + r.randbytes(r.randrange(200))
        return Hostile("invalid_utf8", "POST", path, {"content-type": FORM}, junk)
    return Hostile(
        "random_bytes", "POST", path, {"content-type": FORM}, r.randbytes(r.randrange(4000))
    )


def _web(r: random.Random) -> Hostile:
    variant = r.randrange(6)
    if variant == 0:
        path = r.choice(UNKNOWN_PATHS)
        return Hostile("unknown_route", r.choice(["GET", "POST", "PUT", "DELETE"]), path)
    if variant == 1:
        auth = r.choice(["", "Bearer", "Bearer x", "Bearer rb_" + "A" * 43, "Basic Zm9vOmJhcg==",
                         "Bearer " + "z" * 5000])  # fmt: skip
        method, path = r.choice([("GET", "/api/v1/returnees"), ("GET", "/api/v1/returnees/1"),
                                 ("GET", "/api/v1/alerts"), ("POST", "/api/v1/returnees"),
                                 ("PATCH", "/api/v1/returnees/1")])  # fmt: skip
        headers = {"Authorization": auth, "content-type": "application/json"} if auth else {}
        return Hostile("api_bad_token", method, path, headers, b'{"name": "x"}')
    if variant == 2:
        path = r.choice(["/login", "/logout", "/simulator/1", "/alerts/1/note", "/returnees/new"])
        data = {"email": "admin@demo.returnee-bot.org", "password": "x" * 12, "text": "hi"}
        if r.random() < 0.5:
            data["csrf"] = r.randbytes(16).hex()
        return Hostile("dashboard_without_csrf", "POST", path, {"content-type": FORM}, _form(data))
    if variant == 3:
        headers = {
            "X-Junk": "a" * r.randrange(8_000, 200_000),
            "Cookie": "rb_session=" + "b" * 9000,
        }
        return Hostile("huge_headers", "GET", r.choice(["/", "/login", "/healthz"]), headers)
    if variant == 4:
        cookie = r.choice(["rb_session=eyJ1aWQiOiAxfQ==.x.y", "rb_session=" + r.randbytes(30).hex(),
                           "__Host-rb_session=eyJ1aWQiOjF9"])  # fmt: skip
        return Hostile(
            "forged_cookie", "GET", r.choice(["/", "/inbox", "/simulator"]), {"Cookie": cookie}
        )
    method = r.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
    return Hostile("wrong_method", method, r.choice(["/webhooks/twilio", "/webhooks/telegram"]))


KINDS: list[tuple[float, Callable[[random.Random], Hostile]]] = [
    (0.25, _twilio),
    (0.05, _replay),
    (0.20, _telegram),
    (0.25, _body_attack),
    (0.25, _web),
]


def requests(count: int, *, seed: int = 7) -> list[Hostile]:
    """A reproducible mix of `count` hostile requests."""
    r = random.Random(seed)
    weights = [w for w, _ in KINDS]
    makers = [m for _, m in KINDS]
    return [r.choices(makers, weights)[0](r) for _ in range(count)]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 16 * 1024):
        yield data[start : start + 16 * 1024]


async def send_all(http: httpx.AsyncClient, batch: list[Hostile]) -> RunReport:
    """Send each request in turn; record status codes, 5xx and latencies."""
    report = RunReport()
    started = time.perf_counter()
    for item in batch:
        content: Any = _chunks(item.content) if item.chunked and item.content else item.content
        t0 = time.perf_counter()
        response = await http.request(item.method, item.path, headers=item.headers, content=content)
        report.latencies.append(time.perf_counter() - t0)
        report.sent += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors.append(f"{item.kind}: {response.status_code}")
    report.seconds = time.perf_counter() - started
    return report


async def changed_rows(services: Services, before: dict[str, str]) -> dict[str, int]:
    """Tables whose content changed since `before`, with the change in row count."""
    after = await snapshot(services)
    return {
        name: int(after[name].split(":")[0]) - int(before[name].split(":")[0])
        for name in after
        if after[name] != before[name]
    }
