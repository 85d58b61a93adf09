"""The roles people play, as Django groups; staff users are admins."""

MARKETERS = "Marketers"
ACCOUNT_MANAGERS = "Account managers"
ROLES = (MARKETERS, ACCOUNT_MANAGERS)
