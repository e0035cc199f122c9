"""A host app with a custom user model (``AUTH_USER_MODEL = "accounts.HostUser"``)."""
