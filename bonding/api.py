"""The REST API's entry points: exchanging a password for a token, and the router."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from bonding import services
from bonding.views import lockout_message


class ObtainToken(APIView):
    """Exchange a username and password for a new API token."""

    authentication_classes = []
    permission_classes = []
    throttle_scope = "auth"
    throttle_classes = [throttling.ScopedRateThrottle]

    def get_authenticate_header(self, request) -> str:
        # Wrong credentials are a 401 with its challenge, as on every other endpoint.
        return "Token"

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={201: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": [gettext("Send a JSON object.")]})
        username = request.data.get("username")
        password = request.data.get("password")
        errors = {}
        if not isinstance(username, str) or not username:
            errors["username"] = ["This field is required."]
        if not isinstance(password, str) or not password:
            errors["password"] = ["This field is required."]
        if errors:
            raise exceptions.ValidationError(errors)
        # The plain Django request: django-axes counts this failure like the sign-in page's
        # and marks it when the username or address is locked out.
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise exceptions.Throttled(detail=lockout_message())
            raise exceptions.AuthenticationFailed(
                gettext("Unable to sign in with these credentials.")
            )
        _, key = services.issue_token(user=user, name=str(request.data.get("name") or "API client"))
        return Response({"token": key}, status=status.HTTP_201_CREATED)


router = DefaultRouter(trailing_slash=True)
