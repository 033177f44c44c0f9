"""Outgoing email over SMTP (aiosmtplib): plain text with a simple HTML alternative."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from todo.core.config import Settings


class EmailFailed(Exception):
    """The SMTP server did not take the message; it may later."""


def available(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def message(
    settings: Settings, *, to: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    # Stable per reminder occurrence: a retried send after a lost acknowledgement carries
    # the same id, which lets mail systems drop the duplicate.
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{message_id}@{domain}>"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


async def send(settings: Settings, mail: EmailMessage) -> None:
    import aiosmtplib

    if not settings.smtp_host:
        raise EmailFailed("SMTP_HOST is not set")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port_or_default,
            username=settings.smtp_username or None,
            password=password if settings.smtp_username else None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        raise EmailFailed(f"{type(error).__name__}: {error}") from error
