"""REST clients sign requests with `Authorization: Token <key>`; keys are stored hashed."""

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from bonding.models import ApiToken, hash_key

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """DRF token authentication against ApiToken's hashed keys; revoked keys are refused."""

    keyword = "Token"

    def authenticate_credentials(self, key: str):
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(gettext("Invalid or revoked token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


class SignInLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout for sign-ins that come over the network (they carry a request).

    A sign-in without a request (the shell, the test client's login) has no address to count
    and is left to the next backend, where axes' own backend would refuse it outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
