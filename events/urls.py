from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/new/", views.event_create, name="create"),
    path("events/<int:pk>/", views.event_detail, name="detail"),
    path("events/<int:pk>/edit/", views.event_edit, name="edit"),
    path("events/<int:pk>/invite/", views.invite, name="invite"),
    path("events/<int:pk>/invite/progress/", views.invite_progress, name="invite_progress"),
    path("events/<int:pk>/check-in/", views.check_in, name="check_in"),
    path("events/<int:pk>/close/", views.close, name="close"),
    path("events/<int:pk>/attendance/", views.attendance_import, name="attendance_import"),
    path("events/<int:pk>/attendees.csv", views.attendees_csv, name="attendees_csv"),
]
