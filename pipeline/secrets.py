"""Secrets never reach a log line or an error message.

``mask`` replaces URL passwords (``scheme://user:***@host``), Slack webhook paths
(``hooks.slack.com/services/***``) and any value registered with ``register`` (channel
passwords, tokens, webhook URLs and signing secrets, registered when channels are built).
``MaskingFilter`` applies it to every log record a handler emits, including those of
libraries such as slack_sdk, which logs the webhook URL at debug level.
"""

from __future__ import annotations

import logging
import re
import threading

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE)
_SLACK_HOOK = re.compile(r"(hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)[^\s'\"]+")
MASK = "***"
_registered: set[str] = set()
_lock = threading.Lock()


def register(*secrets: str | None) -> None:
    """Values to mask wherever they appear (shorter than 6 characters: not worth it)."""
    with _lock:
        _registered.update(s for s in secrets if s and len(s) >= 6)


def mask(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _SLACK_HOOK.sub(lambda m: f"{m.group(1)}{MASK}", text)
    with _lock:
        secrets = sorted(_registered, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class MaskingFilter(logging.Filter):
    """Masks secrets in the formatted message (and any traceback text) of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True
