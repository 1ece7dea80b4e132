"""Errors that dlzoo reports to a user as one clear line.

Anything raised as a :class:`DlzooError` is bad input (a config, a dataset, a
net / datamodule pair), not a bug: the entry points print its message alone and
exit non-zero, without a traceback and without writing ``metrics.json``.
"""


class DlzooError(Exception):
    """Base class: a problem with the user's input, reported without a traceback.

    Attributes:
        exit_status: the command's exit status (2: bad input).
        report: whether this process prints the line (in a multi-process run, one does).
    """

    exit_status = 2
    report = True


class ConfigError(DlzooError):
    """A config value, key or combination that cannot work."""


class DataError(DlzooError):
    """A dataset that is missing, unreadable, corrupt or cannot be downloaded."""


class TrainingError(DlzooError):
    """Training went wrong in a way the user can fix (e.g. a NaN loss)."""
