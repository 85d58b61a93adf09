"""System checks of delivery settings: production never hands texts or e-mails to a file (or
the console) by mistake."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

LOCAL_SMS_BACKENDS = {"programs.channels.sms.FileBackend", "programs.channels.sms.ConsoleBackend"}
TWILIO_BACKEND = "programs.channels.sms_twilio.TwilioBackend"
# Django's e-mail backends that deliver to nobody (EMAIL_URL filemail://, consolemail://, ...).
LOCAL_EMAIL_BACKENDS = {
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@register()
def sms_delivery_check(app_configs, **kwargs) -> list[CheckMessage]:
    """With DEBUG off, SMS must go to a provider unless ALLOW_LOCAL_DELIVERY=1 says otherwise;
    the Twilio backend needs its account and a sender."""
    errors: list[CheckMessage] = []
    backend = settings.SMS_BACKEND
    if backend in LOCAL_SMS_BACKENDS and not settings.DEBUG and not settings.ALLOW_LOCAL_DELIVERY:
        errors.append(
            Error(
                f"SMS_BACKEND is {backend} with DEBUG off: texts would be marked sent while "
                "nobody receives them.",
                hint="Set SMS_BACKEND to a provider (programs.channels.sms_twilio.TwilioBackend "
                "with the TWILIO_* variables), or ALLOW_LOCAL_DELIVERY=1 for a local trial.",
                id="programs.E001",
            )
        )
    if backend == TWILIO_BACKEND:
        missing = [
            name
            for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
            if not getattr(settings, name)
        ]
        if not (settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER):
            missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
        if missing:
            errors.append(
                Error(
                    f"The Twilio SMS backend needs {', '.join(missing)}.",
                    id="programs.E002",
                )
            )
    return errors


@register()
def email_delivery_check(app_configs, **kwargs) -> list[CheckMessage]:
    """With DEBUG off, e-mail must go to an SMTP server or a provider unless
    ALLOW_LOCAL_DELIVERY=1 says otherwise: a touch "sent" to a file reached nobody."""
    backend = settings.EMAIL_BACKEND
    if backend not in LOCAL_EMAIL_BACKENDS or settings.DEBUG or settings.ALLOW_LOCAL_DELIVERY:
        return []
    return [
        Error(
            f"EMAIL_BACKEND is {backend} with DEBUG off: e-mails would be marked sent while "
            "nobody receives them.",
            hint="Set EMAIL_URL to an SMTP server (smtp+tls://user:pw@host:587) or "
            "EMAIL_PROVIDER with its keys, or ALLOW_LOCAL_DELIVERY=1 for a local trial.",
            id="programs.E003",
        )
    ]
