"""The SMART/OAuth2 authorization server (issue 6)."""
