"""The one exception tree of citewise.

It lives at the bottom of the dependency chain (ingest -> index -> app) so that every
package can raise from it. Every message is one sentence that says what to do; the CLI
prints it as is, without a traceback.

    CitewiseError
    ├── ConfigError          a setting is missing or wrong (e.g. model path does not exist)
    ├── SourcesError         the sources folder is missing or holds nothing we can read
    ├── LoadError            one file cannot be read; ingest reports it and goes on
    ├── IndexMissingError    no index yet: run `citewise ingest`
    ├── IndexMismatchError   the index was built with another embedding model or chunker
    ├── IndexBusyError       another ingest holds the index's writer lock (pid N)
    ├── StoreUnavailableError  the Chroma server (CITEWISE_CHROMA_URL) cannot be reached
    └── GeneratorError       the language model cannot be loaded or its server does not answer
"""


class CitewiseError(Exception):
    """Base of every error citewise raises on purpose."""


class ConfigError(CitewiseError):
    """A setting is missing or wrong."""


class SourcesError(CitewiseError):
    """The sources folder is missing or holds nothing we can read."""


class LoadError(CitewiseError):
    """One source file cannot be read; the message is the reason shown to the user."""


class IndexMissingError(CitewiseError):
    """There is no index to query yet."""


class IndexMismatchError(CitewiseError):
    """The existing index was built with a different embedding model or chunker."""


class IndexBusyError(CitewiseError):
    """Another process (or thread) is writing the index: one writer at a time."""


class StoreUnavailableError(CitewiseError):
    """The Chroma server the settings point at does not answer."""


class GeneratorError(CitewiseError):
    """The language model cannot be loaded or its server does not answer."""
