from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from bonding import api, rest, staff_language, views, webhook_api, webhook_views
from bonding.middleware import role_not_required
from customers import api as customers_api
from customers import api_ladder as customer_ladder_api
from customers import api_lists as customer_lists_api
from customers import api_preferences as customer_preferences_api
from customers import api_records as customer_records_api
from customers import api_rewards as customer_rewards_api
from customers import api_segments as customer_segments_api
from customers import preference_page, referral_page
from events import api as events_api
from events import public as events_public
from nps import api as nps_api
from nps import public as nps_public
from programs import api as programs_api
from programs import email_webhooks

customers_api.register(api.router)
customer_records_api.register(api.router)
customer_ladder_api.register(api.router)
customer_rewards_api.register(api.router)
customer_preferences_api.register(api.router)
customer_segments_api.register(api.router)
customer_lists_api.register(api.router)
programs_api.register(api.router)
nps_api.register(api.router)
webhook_api.register(api.router)
events_api.register(api.router)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("dashboard/audience/", views.dashboard_audience, name="dashboard_audience"),
    # The pages' scripts take their texts from here (the djangojs catalog), signed in or not.
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("dashboard/<str:widget>.csv", views.export, name="dashboard_export"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", role_not_required(auth_views.LogoutView.as_view()), name="logout"),
    path("settings/tokens/", views.api_tokens, name="api_tokens"),
    path("settings/language/", staff_language.language_page, name="staff_language"),
    path("settings/webhooks/", webhook_views.webhooks_settings, name="webhooks_settings"),
    path("settings/webhooks/<int:pk>/", webhook_views.webhook, name="webhook"),
    path("s/<str:token>/", nps_public.survey, name="survey"),
    path("s/<str:token>/thanks/", nps_public.thanks, name="survey_thanks"),
    path("r/<str:code>/", referral_page.referral_page, name="referral_page"),
    path("p/<str:token>/", preference_page.preference_page, name="preference_page"),
    path("e/<str:token>/", events_public.invitation_page, name="event_invitation"),
    path("e/<str:token>/event.ics", events_public.invitation_ics, name="event_ics"),
    path("admin/", admin.site.urls),
    # The e-mail providers' tracking webhooks (/anymail/<esp>/tracking/): their own auth.
    path("anymail/", include((email_webhooks.urlpatterns, "anymail"))),
    path("api/v1/auth/token/", api.ObtainToken.as_view(), name="api_token"),
    path("api/v1/enrollments/", programs_api.Enrollments.as_view(), name="api_enrollments"),
    path("api/v1/nps/invitations/", nps_api.Invitations.as_view(), name="nps-invitation-list"),
    path("api/v1/", include(api.router.urls)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[rest.SchemaReaders]),
        name="api_schema",
    ),
    # Swagger UI's script comes from a URL (the split view); its page keeps a small <style>.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api_schema", permission_classes=[rest.SchemaReaders]
            )
        ),
        name="api_docs",
    ),
    path("", include("programs.urls")),
    path("", include("events.urls")),
    path("", include("nps.urls")),
    path("", include("customers.urls")),
]

handler400 = "bonding.views.bad_request"
