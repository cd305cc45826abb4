"""The email channel: multipart text + HTML through SMTP (plain, STARTTLS or TLS).

The Message-ID is derived from the alert key, so a message sent twice after a crash
carries the same id and mail clients can drop the repeat. SMTP 4xx answers are
temporary, 5xx permanent.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from ..config import EmailChannel
from ..errors import ChannelError
from ..types import AlertMessage, DigestMessage, UpdateMessage
from .render import email_alert, email_digest
from .render_update import email_update

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


def build_message(
    config: EmailChannel,
    key: str,
    subject: str,
    text: str,
    html: str,
    installation: str = "",
    *,
    reply_to_key: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Subject"] = f"{config.subject_prefix} {subject}".strip()
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(key, config.sender, installation)
    if reply_to_key is not None:  # an update: threads under the story's first alert
        message["In-Reply-To"] = message_id(reply_to_key, config.sender, installation)
        message["References"] = message_id(reply_to_key, config.sender, installation)
    if config.list_unsubscribe:
        message["List-Unsubscribe"] = f"<{config.list_unsubscribe}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def message_id(key: str, sender: str, installation: str = "") -> str:
    """Stable per alert and installation: story ids restart after a database reset or a
    move to PostgreSQL, and the installation id keeps a new alert from reusing an old
    alert's Message-ID (which Gmail would drop as a duplicate)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "wirewatch.invalid"
    digest = hashlib.sha256(f"{installation}:{key}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system CAs, plus ``ca_file`` when given (a private relay's CA)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class EmailSink:
    def __init__(self, name: str, config: EmailChannel, installation: str = "") -> None:
        self.name = name
        self.config = config
        self.installation = installation

    def send(self, message: AlertMessage) -> None:
        self._deliver(self._message(message.key, *email_alert(message)))

    def send_digest(self, digest: DigestMessage) -> None:
        self._deliver(self._message(digest.key, *email_digest(digest)))

    def _message(self, key: str, subject: str, text: str, html: str) -> EmailMessage:
        return build_message(self.config, key, subject, text, html, self.installation)

    def send_update(self, update: UpdateMessage) -> None:
        self._deliver(
            build_message(
                self.config,
                update.key,
                *email_update(update),
                self.installation,
                reply_to_key=update.original_key,
            )
        )

    def _deliver(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.config.username:
                    smtp.login(self.config.username, self.config.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(code >= 500 for code in codes)
            raise ChannelError(
                f"SMTP refused the recipients: {exc.recipients}", permanent=permanent
            ) from exc
        except smtplib.SMTPResponseException as exc:
            detail = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise ChannelError(
                f"SMTP {exc.smtp_code} {detail}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP server unreachable: {exc}", permanent=False) from exc

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        port = config.port or DEFAULT_PORTS[config.security]
        context = tls_context(config.ca_file)
        if config.security == "tls":
            return smtplib.SMTP_SSL(config.host, port, timeout=config.timeout, context=context)
        smtp = smtplib.SMTP(config.host, port, timeout=config.timeout)
        if config.security == "starttls":
            smtp.starttls(context=context)
        return smtp
