"""The customer's mail the intake tests send: one builder for LMTP, IMAP and the fault tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid


def customer_mail(
    *,
    sender: str = "dave@customer.test",
    to: str = "support@desk.test",
    subject: str = "Нет интернета",
    body: str = "С утра не работает интернет.\n",
    crlf: bool = False,
    **headers: str,
) -> bytes:
    """A plain-text message with a fresh Message-ID unless ``message_id`` is given (an empty
    one leaves the header out). Other keyword arguments are headers, ``in_reply_to`` as
    ``In-Reply-To``. ``crlf``: the line ends an IMAP server hands back, byte for byte."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message_id = headers.pop("message_id", make_msgid(domain="customer.test"))
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes(policy=SMTP) if crlf else message.as_bytes()
