from django.urls import path

from nps import views

app_name = "nps"

urlpatterns = [
    path("surveys/", views.survey_list, name="list"),
    path("surveys/new/", views.survey_create, name="create"),
    path("surveys/<int:pk>/", views.survey_edit, name="edit"),
    path("surveys/<int:pk>/invite/", views.survey_invite, name="invite"),
]
