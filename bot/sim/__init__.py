"""Offline stand-ins for the upstreams, written from their documentation (the `sim` extra).

`server.FlowSimulator` (the captcha proxy, Google's Flow endpoints, the Gemini API and the
labs.google session), `telegram.FakeTelegram` (the Bot API) and `cli` (`python -m bot sim`).
They are `aiohttp.web` applications on loopback and render real media with PyAV; the bot itself
never imports this package.
"""
