"""ccdesk: a desktop crypto price ticker for the CryptoCompare streamer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ccdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
