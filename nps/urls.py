from django.urls import path

from nps import views

app_name = "nps"

urlpatterns = [
    path("surveys/", views.survey_list, name="list"),
    path("surveys/new/", views.survey_create, name="create"),
    path("surveys/<int:pk>/", views.survey_edit, name="edit"),
    path("surveys/<int:pk>/invite/", views.survey_invite, name="invite"),
    path("surveys/invite/", views.invite_choose, name="invite_choose"),
    path("surveys/themes/refit/", views.themes_refit, name="themes_refit"),
    path("surveys/themes/<int:pk>/rename/", views.theme_rename, name="theme_rename"),
    path("surveys/themes/<int:pk>/merge/", views.theme_merge, name="theme_merge"),
    path("surveys/themes/<int:pk>/split/", views.theme_split, name="theme_split"),
]
