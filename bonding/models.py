"""Tables of the project itself: API tokens."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


def hash_key(key: str) -> str:
    """Tokens are stored hashed: a leaked database does not leak working keys."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key a REST client signs its requests with; shown once, stored hashed, revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “shop sync”.")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user"], name="apitoken_live_user",
                                condition=Q(revoked_at__isnull=True))]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
