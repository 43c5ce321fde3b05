"""A real MCP client (the Python `mcp` SDK) for opsbot's MCP tests.

    mcp_client.py http URL TOKEN CALLS
    mcp_client.py stdio TOKEN CALLS -- COMMAND ARG...

Connects over streamable HTTP (with the token as a bearer token) or by
starting COMMAND (with the token in OPSBOT_API_TOKEN) and talking over
its stdin/stdout, initialises, lists the
tools, makes CALLS (a JSON list of [tool, arguments]) in order and prints one
JSON object: the server's name, the tools as listed and each call's result.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

CLIENT = types.Implementation(name="opsbot-test", version="1.0")


async def session_run(read, write, calls):
    async with ClientSession(read, write, client_info=CLIENT) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        results = []
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            results.append(result.model_dump(mode="json", by_alias=True, exclude_none=True))
        return {
            "server": init.server_info.name,
            "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools],
            "results": results,
        }


async def main(argv):
    if argv[0] == "http":
        url, token, calls = argv[1], argv[2], json.loads(argv[3])
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write, *_):
                return await session_run(read, write, calls)
    token, calls = argv[1], json.loads(argv[2])
    assert argv[3] == "--"
    # The whole environment and the token: the SDK's default passes only a
    # few variables.
    env = dict(os.environ, OPSBOT_API_TOKEN=token)
    server = StdioServerParameters(command=argv[4], args=argv[5:], env=env)
    async with stdio_client(server) as (read, write, *_):
        return await session_run(read, write, calls)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
