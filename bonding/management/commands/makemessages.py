"""makemessages that also finds texts with a plural stored to be said later."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    """Django's, plus the ngettext_noop marker of customers/sayings.py (singular, plural)."""

    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=ngettext_noop:1,2"]
