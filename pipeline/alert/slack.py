"""The Slack channel: Block Kit messages through an incoming webhook or ``chat.postMessage``.

The SDK's own retries are off: the outbox retries, with backoff, after Slack's
``Retry-After``. Errors that retrying cannot fix (``invalid_payload``,
``channel_not_found``, ``invalid_token`` …) are permanent, so they never loop.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from ..config import SlackChannel
from ..errors import ChannelError
from ..fetch import parse_retry_after
from ..types import AlertMessage, DigestMessage, UpdateMessage
from .render import slack_alert, slack_digest
from .render_update import slack_update

TEMPORARY_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "request_timeout",
     "internal_error", "fatal_error", "team_added_to_org"}
)  # fmt: skip


def classify(status: int, error: str | None, headers: Mapping[str, str]) -> ChannelError | None:
    """None when Slack accepted the message, else the error, temporary or permanent."""
    if status == 200 and not error:
        return None
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    detail = f"Slack answered {status}" + (f": {error}" if error else "")
    if status == 429 or status >= 500 or error in TEMPORARY_ERRORS:
        return ChannelError(detail, permanent=False, retry_after=retry_after)
    return ChannelError(detail, permanent=True)


class SlackSink:
    def __init__(self, name: str, config: SlackChannel) -> None:
        self.name = name
        self.config = config
        timeout = int(config.timeout)
        if config.webhook_url:
            self._webhook = WebhookClient(config.webhook_url, timeout=timeout, retry_handlers=[])
        else:
            self._client = WebClient(
                token=config.token, base_url=config.base_url, timeout=timeout, retry_handlers=[]
            )

    def send(self, message: AlertMessage) -> str | None:
        """Post the alert; with a bot token, return the message's ``ts`` (for threads)."""
        return self._post(*slack_alert(message))

    def send_digest(self, digest: DigestMessage) -> None:
        self._post(*slack_digest(digest))

    def send_update(self, update: UpdateMessage) -> None:
        """A reply in the original's thread with a bot token and its ``ts``; otherwise a
        message of its own that names the story."""
        thread = update.thread_ref if not self.config.webhook_url else None
        self._post(*slack_update(update, in_thread=thread is not None), thread_ts=thread)

    def _post(self, text: str, blocks: list[dict], thread_ts: str | None = None) -> str | None:
        ts = None
        try:
            if self.config.webhook_url:
                failure = self._webhook_post(text, blocks)
            else:
                failure, ts = self._api_post(text, blocks, thread_ts)
        except (OSError, TimeoutError) as exc:
            raise ChannelError(f"Slack unreachable: {exc}", permanent=False) from exc
        if failure is not None:
            raise failure
        return ts

    def _webhook_post(self, text: str, blocks: list[dict]) -> ChannelError | None:
        response = self._webhook.send(text=text, blocks=blocks, unfurl_links=False)
        body = (response.body or "").strip()
        return classify(
            response.status_code, None if body == "ok" else body or None, response.headers
        )

    def _api_post(
        self, text: str, blocks: list[dict], thread_ts: str | None = None
    ) -> tuple[ChannelError | None, str | None]:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            response = self._client.chat_postMessage(
                channel=self.config.channel, text=text, blocks=blocks, unfurl_links=False, **extra
            )
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error") if isinstance(response.data, dict) else None
            return classify(response.status_code, error or "error", response.headers), None
        ts = response.get("ts") if isinstance(response.data, dict) else None
        return None, str(ts) if ts else None
