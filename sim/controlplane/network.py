"""The control-plane nodes of a run and which of them each device's procedures reach.

Nodes listed in the scenario's ``[controlplane.nodes]`` get finite capacity: one
:class:`~sim.controlplane.node.Node` per instance, device ``d`` served by instance
``d // devices_per_node``. Nodes not listed have unlimited capacity and are not modelled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from sim.controlplane.node import Node


class ControlNetwork:
    """Node instances, created when first used, and each procedure's route through them."""

    CORE_NODES = ("SGSN", "MME", "AMF")
    #: a reject by one of these is an RRC reject (``rrc_reject``); by any other node, a core-side
    #: refusal of the NAS request (``service_reject``)
    RAN_NODES = ("RNC", "eNB", "gNB")

    def __init__(self, env: simpy.Environment, nodes: dict[str, Any], node_names: tuple[str, ...],
                 messages: np.ndarray, is_promotion: np.ndarray, controls: list[Any], seed: int):
        """``nodes``: capacity per node name (``NodeCapacity``); ``messages[proc, node]`` and
        ``is_promotion[proc]`` as in the model tables; ``controls``: access-barring and
        core-overload events; ``seed``: the run's, for the devices' barring draws."""
        self.env = env
        self.controls = controls
        self.seed = seed
        core = [j for j, n in enumerate(node_names) if n in self.CORE_NODES]
        #: per procedure: a promotion that reaches the core (a service request), refused under core overload
        self.core_promotion = is_promotion & (messages[:, core].sum(axis=1) > 0 if core else False)
        self.capacity = nodes
        self.instances: dict[str, dict[int, Node]] = {name: {} for name in nodes}
        # per procedure code: (node name, messages) for every limited node it loads, in profile order
        self.routes: list[list[tuple[str, int]]] = [
            [(n, int(messages[p, j])) for j, n in enumerate(node_names) if n in nodes and messages[p, j] > 0]
            for p in range(messages.shape[0])
        ]

    def node(self, name: str, device: int) -> Node:
        cap = self.capacity[name]
        index = 0 if cap.devices_per_node is None else device // cap.devices_per_node
        node = self.instances[name].get(index)
        if node is None:
            node = Node(self.env, f"{name}[{index}]", servers=cap.servers,
                        service_s_per_message=1.0 / cap.messages_per_s, queue_limit=cap.queue_limit,
                        guard_s=cap.guard_s, admission=cap.admission, reserved_share=cap.reserved_share)
            self.instances[name][index] = node
        return node

    def route(self, device: int, proc: int) -> list[tuple[str, Node, int]]:
        """The limited nodes procedure ``proc`` of ``device`` loads: name, instance and its messages there."""
        return [(name, self.node(name, device), m) for name, m in self.routes[proc]]

    def reject_code(self, name: str, rrc_reject: int, service_reject: int) -> int:
        """The procedure a reject by node ``name`` exchanges: of the device's radio, ``rrc_reject``
        at a RAN node, else ``service_reject``; its messages at ``name`` are counted there."""
        return rrc_reject if name in self.RAN_NODES else service_reject

    def count_reject(self, device: int, code: int) -> None:
        """Count a reject procedure ``code`` of ``device`` at every limited node it exchanges
        messages at (not as their load: see ``sim.controlplane.node``)."""
        for _, node, m in self.route(device, code):
            node.reject_messages += m

    def control_at(self, kind: str, t: float) -> Any:
        """The ``kind`` overload control in force at ``t``, if any."""
        for event in self.controls:
            if event.kind == kind and event.start_s <= t < event.end_s:
                return event
        return None

    def load(self, device: int, proc: int, rejected: Callable[[], None], cause: str) -> None:
        """Offer a procedure nobody waits for (a timer-driven release or periodic update) of admission
        class ``cause``; ``rejected`` is called (once per node) for each node that rejects it. No
        messages are exchanged to reject it: the node drops its own work, no request of the device
        is turned away."""
        def outcome(event: simpy.Event) -> None:
            if not event.value.accepted:
                rejected()
        for _, node, m in self.route(device, proc):
            node.offer(m, cause).callbacks.append(outcome)

    def stats(self, until_s: float) -> dict[str, dict[str, float]]:
        """Per node name, over its instances: procedures and their messages offered, carried,
        rejected and still in the node at ``until_s`` (offered = carried + rejected + in system),
        the messages exchanged to reject, utilization (the waits: ``sim.metrics.nodes``)."""
        out = {}
        for name, instances in self.instances.items():
            nodes = list(instances.values())
            out[name] = {
                "instances": len(nodes),
                "offered_messages": sum(n.messages_offered for n in nodes),
                "carried_messages": sum(n.messages_carried for n in nodes),
                "rejected_messages": sum(n.messages_rejected for n in nodes),
                "in_system_messages_at_end": sum(n.messages_in_system for n in nodes),
                "reject_messages": sum(n.reject_messages for n in nodes),
                "offered_procedures": sum(n.offered for n in nodes),
                "carried_procedures": sum(n.carried for n in nodes),
                "rejected_procedures": sum(n.rejected for n in nodes),
                "rejected": sum(n.rejected for n in nodes),  # the same: its name before issue 12, kept for scripts
                "in_system_at_end": sum(n.in_system for n in nodes),
                "utilization": float(np.mean([n.utilization(until_s) for n in nodes])) if nodes else 0.0,
                "utilization_max": float(max((n.utilization(until_s) for n in nodes), default=0.0)),
            }
        return out
