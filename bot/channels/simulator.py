"""The simulator channel: messages are only stored, and the simulator page shows them."""

from bot.ports import OutboundMessage, SendResult


class SimulatorChannel:
    """Stands in for a channel that has no credentials in development."""

    def __init__(self, name: str = "simulator") -> None:
        self.name = name

    async def send(self, message: OutboundMessage) -> SendResult:
        """Accept the message: the stored row is what the simulator shows."""
        return SendResult(provider_id=f"sim-{message.idempotency_key}", status="delivered")
