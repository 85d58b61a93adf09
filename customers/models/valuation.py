"""The value model fitted nightly."""

from django.db import models
from django.utils.timezone import now

from customers.value import BgNbdParams, GammaGammaParams


class ValueModel(models.Model):
    """The BG/NBD and Gamma-Gamma parameters fitted nightly over the whole customer base."""

    fitted_at = models.DateTimeField(default=now)
    customers = models.PositiveIntegerField()
    bg_nbd_params = models.JSONField()
    gamma_gamma_params = models.JSONField()

    class Meta:
        ordering = ["-fitted_at"]

    def __str__(self) -> str:
        return f"Value model of {self.fitted_at:%Y-%m-%d %H:%M}"

    @property
    def bg_nbd(self) -> BgNbdParams:
        return BgNbdParams(**self.bg_nbd_params)

    @property
    def gamma_gamma(self) -> GammaGammaParams:
        return GammaGammaParams(**self.gamma_gamma_params)
