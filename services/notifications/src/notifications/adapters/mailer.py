"""Email over SMTP (aiosmtplib). Distinguishes failures worth retrying from definitive ones."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from notifications.domain.errors import PermanentDeliveryError, TransientDeliveryError


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def build(self, *, message_id: str, to: str, subject: str, text: str, html: str | None) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        # A stable Message-ID: a retry after a lost acknowledgement is recognisable downstream.
        msg["Message-ID"] = make_msgid(idstring=message_id, domain="e-aps.douane.gouv.fr")
        msg["Content-Language"] = "fr"
        msg.set_content(text)
        if html:
            msg.add_alternative(html, subtype="html")
        return msg

    async def send(self, *, message_id: str, to: str, subject: str, text: str, html: str | None) -> None:
        msg = self.build(message_id=message_id, to=to, subject=subject, text=text, html=html)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentDeliveryError(f"destinataire refusé : {exc}") from exc
            raise TransientDeliveryError(f"destinataire refusé temporairement : {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(f"refus SMTP {exc.code} : {exc.message}") from exc
            raise TransientDeliveryError(f"erreur SMTP {exc.code} : {exc.message}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"serveur SMTP injoignable : {exc.__class__.__name__}: {exc}") from exc
