"""Torget: the shell that composes the packages into one Flask application.

`torget.app.create_app` is the factory; the rest of this package is the
infrastructure every package shares (configuration, database, errors, access
rules, logging, metrics, languages).
"""
