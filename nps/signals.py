"""Events the NPS app announces to the apps above it (programs, the dashboard)."""

from django.dispatch import Signal

# Sent after commit when a customer answers: response, created (False when an answer changed).
response_recorded = Signal()
