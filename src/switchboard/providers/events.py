"""What every provider parser returns."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.contract import NormalizedInteraction


@dataclass(frozen=True)
class ProviderEvent:
    """One verified webhook event: the interaction it creates or merges into, and its own key.

    `event_key` names this event among all of the provider's (a message's id, or the id plus
    what happened to it), so each delivery of it maps to one workflow.
    """

    interaction: NormalizedInteraction
    event_key: str
