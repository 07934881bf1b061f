"""Ostinato Studio: a local web page to hear, see and steer a pack's music live.

TensorBoard-style: `middleware.studio.app` serves the static single-page app shipped in
`static/` plus JSON routes and one WebSocket; it never renders HTML. The WebSocket is a
second transport of the service's own protocol (docs/protocol.md, "WebSocket transport"):
`middleware.studio.gateway` relays each page to the same ZeroMQ service games use, so the
page hears the director's own mixed PCM under the same credit flow control.
"""
