"""Control plane: nodes (RNC, eNB, MME, ...) that process signalling procedures with finite capacity."""
from sim.controlplane.node import Node, Outcome

__all__ = ["Node", "Outcome"]
