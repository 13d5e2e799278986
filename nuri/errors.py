"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


class NuriError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class ConfigError(NuriError):
    """The domain config is invalid; the message names the file and field."""


class DataError(NuriError):
    """A data file is missing, empty or malformed; the message names file and line."""


class GateFailed(NuriError):
    """A stage gate blocked the next stage; the message names the failed criteria."""

    exit_code = 3
