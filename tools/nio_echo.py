"""The lowest floor for `make bench`'s Matrix round trip: a minimal echo bot
written with matrix-nio (Python), on the same Synapse as opsbot. It joins the
rooms it is invited to and says back every text message it hears; it keeps
no store and does no work, so its round trip is what the homeserver and a
plain client cost.

usage: nio_echo.py HOMESERVER_URL USER PASSWORD
"""

import asyncio
import sys

from nio import AsyncClient, InviteMemberEvent, MatrixRoom, RoomMessageText


async def main(url: str, user: str, password: str) -> None:
    client = AsyncClient(url, user)
    await client.login(password)
    # Start after what is already there: only new messages are echoed.
    await client.sync(timeout=0, full_state=True)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            for _ in range(10):
                joined = await client.join(room.room_id)
                if getattr(joined, "room_id", None):
                    break
                await asyncio.sleep(0.3)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == client.user_id:
            return
        await client.room_send(
            room.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": event.body},
        )

    client.add_event_callback(on_invite, InviteMemberEvent)
    client.add_event_callback(on_message, RoomMessageText)
    print("ready", flush=True)
    await client.sync_forever(timeout=10000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
