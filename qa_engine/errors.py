"""Errors a user can act on: each message names the file or setting and the fix."""


class QAEngineError(Exception):
    """Base class: the CLI prints these as one line, never as a traceback."""


class CorpusError(QAEngineError):
    """The corpus folder is missing or holds nothing we can index."""


class SettingsError(QAEngineError):
    """settings.yaml is missing, malformed, or names something that does not exist."""


class IndexNotFoundError(QAEngineError):
    """No usable index at the given folder (missing, or a file is damaged)."""


class QuestionError(QAEngineError):
    """The question cannot be answered as given (empty, say)."""
