"""Exceptions that reach the user, and the exit code each one maps to."""

from __future__ import annotations


class SqlgenError(Exception):
    """A failure the user can act on; printed as one line, exit code 1."""

    exit_code = 1


class ConfigError(SqlgenError):
    """The configuration file or an override is invalid."""


class UploadError(SqlgenError):
    """Delivery to S3 failed; local output is kept. Exit code 2."""

    exit_code = 2
