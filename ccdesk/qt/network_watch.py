"""Tells when the network comes back (Wi-Fi switch, VPN, cable), through Qt's QNetworkInformation.

A socket from the old network would otherwise only be found dead by the stream's liveness checks.
Where the platform has no backend, nothing is ever reported and nothing breaks.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger(__name__)


class NetworkWatch(QObject):
    """Signals:
    came_online(): the network became reachable again.
    """

    came_online = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        try:
            if not QNetworkInformation.loadDefaultBackend():
                return
        except RuntimeError:  # no backend on this platform
            return
        info = QNetworkInformation.instance()
        if info is not None:
            info.reachabilityChanged.connect(self._on_info_reachability_changed)

    @Slot(QNetworkInformation.Reachability)
    def _on_info_reachability_changed(self, reachability: QNetworkInformation.Reachability) -> None:
        log.info("network reachability: %s", reachability.name)
        if reachability == QNetworkInformation.Reachability.Online:
            self.came_online.emit()
