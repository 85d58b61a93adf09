from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Bonding programs, their steps, enrollments and touches."""

    name = "programs"
    verbose_name = "Programs"
