"""Writes of the project itself: issuing and revoking API tokens."""

import logging
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bonding.models import ApiToken, hash_key

logger = logging.getLogger(__name__)

KEY_PREFIX = "bnd_"


@transaction.atomic
def issue_token(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the key, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], key_hash=hash_key(key), prefix=key[:10]
    )
    logger.info("api token %s issued to user %s", token.pk, user.pk)
    return token, key


@transaction.atomic
def revoke_token(*, token: ApiToken) -> bool:
    """Revoke a token at once; returns False when it already was."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info("api token %s revoked", token.pk)
    return bool(revoked)
