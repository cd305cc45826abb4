"""Email over STARTTLS and implicit TLS to a real local SMTP server with its own CA:
the certificate is verified (the default SSL context), not merely accepted."""

import ssl
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from pipeline.alert.email import EmailSink
from pipeline.config import EmailChannel
from pipeline.errors import ChannelError
from tests.conftest import _Recorder, free_port
from tests.test_channels import MESSAGE


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def channel(port: int, security: str, ca_file: str | None) -> EmailChannel:
    return EmailChannel(
        type="email",
        host="127.0.0.1",
        port=port,
        security=security,
        timeout=5,
        ca_file=ca_file,
        **{"from": "alerts@desk.example"},
        to=["desk@desk.example"],
    )


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_delivery_verifies_the_server(ca: trustme.CA, tmp_path: Path, security: str) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    recorder = _Recorder()
    port = free_port()
    context = server_context(ca)
    options = (
        {"tls_context": context, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": context}
    )
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        with pytest.raises(
            ChannelError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"
        ):
            EmailSink("mail", channel(port, security, None)).send(MESSAGE)
        EmailSink("mail", channel(port, security, str(ca_file))).send(MESSAGE)
    finally:
        controller.stop()
    [message] = recorder.messages
    assert message["Subject"].endswith("Commerce adds 80 firms to Entity List")
