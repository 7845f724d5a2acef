"""Errors a user can act on. Each message is one line: what went wrong, where, and the fix."""


class BuilderError(Exception):
    """Base class: the CLI prints the message alone (no traceback) and exits with status 2."""


class ConfigError(BuilderError):
    """A configuration value or file is wrong."""


class DataError(BuilderError):
    """A dataset folder or image cannot be used."""


class BuildError(BuilderError):
    """The site cannot be built (bad model directory, missing shard, bundler failure)."""
