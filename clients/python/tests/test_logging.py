"""Log redaction: canaries (an e-mail, a card number, an API key) never reach the output in clear,
with the server up (redacted), down (held, then the placeholder), or back after a while; the
handler, the filter and the structlog processor."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from rampart import Rampart
from rampart.logging import PLACEHOLDER, RedactingFilter, RedactingHandler, RedactingProcessor

from .conftest import RestartableServer, Server

EMAIL = "canary.ann@example.com"
CARD = "4111 1111 1111 1111"
API_KEY = "sk_live_abcdefghijklmnop1234"
CANARIES = (EMAIL, CARD, API_KEY, "canary.ann")
DEAD_URL = "http://127.0.0.1:9"
FORMAT = "%(levelname)s %(message)s user=%(user)s"


def clear_of_canaries(text: str) -> bool:
    return not any(c in text for c in CANARIES)


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def target(out: io.StringIO) -> logging.Handler:
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test.redaction.{time.monotonic_ns()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def log_canaries(log: logging.Logger) -> None:
    log.info("login by %s", EMAIL, extra={"user": EMAIL})
    try:
        raise ValueError(f"card {CARD} declined")
    except ValueError:
        log.exception("payment failed with key %s", API_KEY, extra={"user": "u1"})


def test_the_handler_redacts_in_batches(
    server: Server, logger: logging.Logger, out: io.StringIO
) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        handler = RedactingHandler(target(out), rampart)
        logger.addHandler(handler)
        log_canaries(logger)
        handler.flush()
        handler.close()
    text = out.getvalue()
    assert clear_of_canaries(text), text
    assert "login by hmac-sha256:" in text and "user=hmac-sha256:" in text
    assert "[REDACTED:CREDIT_CARD]" in text and "[REDACTED:SECRET]" in text
    assert "Traceback" in text, "the exception is kept, redacted"


def test_the_handler_never_lets_a_record_through_when_the_server_is_down(
    logger: logging.Logger, out: io.StringIO
) -> None:
    with Rampart(DEAD_URL, "rk_x") as dead:
        handler = RedactingHandler(target(out), dead, max_hold=0.2)
        logger.addHandler(handler)
        log_canaries(logger)
        time.sleep(0.05)
        assert out.getvalue() == "", "held while the server is unreachable"
        handler.flush(timeout=10)
        handler.close()
    lines = out.getvalue().splitlines()
    assert lines == [f"{level} {PLACEHOLDER} user={PLACEHOLDER}" for level in ("INFO", "ERROR")]


def test_held_records_come_out_redacted_once_the_server_is_back(
    restartable: RestartableServer, logger: logging.Logger, out: io.StringIO
) -> None:
    with Rampart(restartable.base_url, restartable.admin_key) as rampart:
        handler = RedactingHandler(target(out), rampart, max_hold=60)
        logger.addHandler(handler)
        restartable.stop()
        log_canaries(logger)
        time.sleep(0.5)
        assert out.getvalue() == ""
        restartable.start()
        handler.flush(timeout=30)
        handler.close()
    text = out.getvalue()
    assert clear_of_canaries(text), text
    assert PLACEHOLDER not in text and "[REDACTED:CREDIT_CARD]" in text


def test_a_full_queue_blanks_at_once_and_own_transport_logs_are_dropped(
    server: Server, out: io.StringIO
) -> None:
    root = logging.getLogger()
    level = root.level
    with Rampart(server.base_url, server.admin_key) as rampart:
        handler = RedactingHandler(target(out), rampart, max_batch=1, max_pending=1)
        root.addHandler(handler)
        root.setLevel(logging.INFO)  # httpx logs each request at INFO
        try:
            for _ in range(20):
                logging.getLogger("test.full").info("mail %s", EMAIL, extra={"user": "u"})
            handler.flush()
            time.sleep(0.3)  # a feedback loop would keep logging requests meanwhile
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            handler.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 20, lines
    assert clear_of_canaries(out.getvalue())
    assert any(PLACEHOLDER in line for line in lines), "a full queue does not wait"


def test_the_filter_batches_and_never_passes_clear(
    server: Server, logger: logging.Logger, out: io.StringIO
) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        handler = target(out)
        logger.addHandler(handler)
        redacting = RedactingFilter(rampart).install(handler)
        log_canaries(logger)
        assert redacting.flush()
        redacting.close()
    text = out.getvalue()
    assert clear_of_canaries(text), text
    assert text.count("\nERROR ") + text.startswith("ERROR") == 1 and "[REDACTED:SECRET]" in text
    with Rampart(DEAD_URL, "rk_x") as dead:
        down = io.StringIO()
        guarded = logging.getLogger(f"test.filter.{time.monotonic_ns()}")
        guarded.propagate = False
        guarded.setLevel(logging.INFO)
        down_handler = target(down)
        guarded.addHandler(down_handler)
        with pytest.raises(TypeError, match="child loggers"):
            RedactingFilter(dead).install(guarded)  # type: ignore[arg-type]
        redacting = RedactingFilter(dead, max_hold=0.1).install(down_handler)
        log_canaries(guarded)
        redacting.flush(timeout=10)
        redacting.close()
    assert clear_of_canaries(down.getvalue()) and down.getvalue().count(PLACEHOLDER) == 4
    with pytest.raises(RuntimeError):
        redacting.install(handler)
    # A filter nobody installed cannot redact: it lets nothing through in clear either.
    record = logging.makeLogRecord({"msg": "mail %s", "args": (EMAIL,), "user": EMAIL})
    assert RedactingFilter(dead).filter(record)
    assert record.getMessage() == PLACEHOLDER and record.__dict__["user"] == PLACEHOLDER
    # A caller cannot mark its own record as redacted.
    forged = logging.makeLogRecord({"msg": EMAIL, "_rampart_redacted": True})
    assert RedactingFilter(dead).filter(forged)
    assert forged.getMessage() == PLACEHOLDER


def render(event: MutableMapping[str, Any]) -> str:
    return str(structlog.processors.JSONRenderer()(None, "", event))


def test_structlog_processor_up_and_down(server: Server) -> None:
    for base_url in (server.base_url, DEAD_URL):
        with Rampart(base_url, server.admin_key) as rampart:
            process = RedactingProcessor(rampart)
            event = {"event": f"login {EMAIL}", "card": CARD, "key": API_KEY, "level": "info"}
            line = render(process(None, "info", event))
            assert clear_of_canaries(line), line
            if base_url == DEAD_URL:
                assert line == f'{{"level": "info", "event": "{PLACEHOLDER}"}}'
            else:
                assert "[REDACTED:CREDIT_CARD]" in line and '"level": "info"' in line


@pytest.mark.parametrize("up", [True, False])
def test_structlog_in_batches_through_a_sink(server: Server, up: bool) -> None:
    lines: list[str] = []
    with Rampart(server.base_url if up else DEAD_URL, server.admin_key) as rampart:
        process = RedactingProcessor(rampart, sink=lambda e: lines.append(render(e)), max_hold=0.1)
        log = structlog.wrap_logger(
            structlog.PrintLogger(io.StringIO()),
            processors=[
                structlog.processors.add_log_level,
                process,
                structlog.processors.JSONRenderer(),
            ],
        )
        for i in range(30):
            log.info("order", i=i, email=EMAIL, note=f"card {CARD}")
        assert process.flush()
        process.close()
    assert len(lines) == 30 and all(clear_of_canaries(line) for line in lines)
    if up:
        assert '"i": 29' in lines[-1] and "[REDACTED:CREDIT_CARD]" in lines[-1]
    else:
        assert set(lines) == {f'{{"level": "info", "event": "{PLACEHOLDER}"}}'}
