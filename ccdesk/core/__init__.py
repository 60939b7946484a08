"""ccdesk's Qt-free core: protocol, quote state, stream client, alerts, REST, secrets.

Nothing below this package may import PySide6 or ccdesk.qt (tests/unit/test_boundary.py enforces it).
"""
