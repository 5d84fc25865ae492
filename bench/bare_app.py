"""The bare endpoint bench_inbound.py compares the full path with: parse the form, answer TwiML.

Run: .venv/bin/python bench/bare_app.py --port 8001
It is served with the uvicorn settings of `returnee-bot serve` (bot/commands.py) and the same
logging, so what the benchmark measures between the two is the application, not the server.
"""

import argparse
import asyncio
import logging

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def twilio(request: Request) -> Response:
    """Parse the form, as the real webhook does first, and acknowledge."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    status = 200 if fields.get("MessageSid") else 400
    return Response(EMPTY_TWIML, status_code=status, media_type="text/xml")


async def healthz(request: Request) -> JSONResponse:
    """Say the server is up."""
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/webhooks/twilio", twilio, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)


def main() -> None:
    """Serve the bare app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    logging.basicConfig(  # as bot.cli does for `serve`
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    config = uvicorn.Config(  # as bot.commands.serve does
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=True,
        server_header=False,
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
