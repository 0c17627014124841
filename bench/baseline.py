"""The reference client: what the sample code of ../shared/seed-veo3-guide.md does, per job.

Run by the bench as its own process (`python -m bench.baseline ...`), so its memory and CPU are
measured exactly like the bot's. For every `/video` update it reads from the fake Telegram it
starts one independent coroutine that, like the sample's `create_video`:

1. POSTs create-video-veo3 to the proxy (T2V body, as the guide writes it),
2. GETs task-status every P seconds until the result holds `operations`,
3. POSTs batchCheckAsyncVideoGenerationStatus with ONLY its own operations every P seconds
   (one Google request per job per tick) until SUCCESSFUL,
4. downloads the fifeUrl into memory (`r.content`, as `requests` would), and
5. uploads it with sendVideo (caption `🎬 <prompt>`, as a reply to the command).

The sample has no Telegram part; steps 0 (reading updates with getUpdates) and 5 are the most
naive working choice: no progress messages and no pacing, and on a 429 it sleeps `retry_after`
and uploads the whole file again (up to 20 tries), so it does deliver every video and every 429
is counted. Each job has its own httpx client (keep-alive inside the job: kinder than the
sample's new connection per `requests.post`; one client shared by hundreds of jobs would spend
most of its CPU in httpcore's connection-pool bookkeeping, which is not what the sample does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import signal
import ssl
import sys
import time
import uuid
from typing import Any

import httpx

logger = logging.getLogger("bench.baseline")
GOOGLE_POLL = "/v1/video:batchCheckAsyncVideoGenerationStatus"
GOOGLE_T2V = "/v1/video:batchAsyncGenerateVideoText"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
TELEGRAM_TRIES = 20


class Client:
    def __init__(self, args: argparse.Namespace, http: httpx.AsyncClient) -> None:
        self.args = args
        self.http = http  # for getUpdates; each job makes its own
        self.tls = ssl.create_default_context()  # loading the CA bundle per client costs ~20 ms
        self.telegram = f"{args.telegram}/bot{args.token}"
        self.max_polls = max(1, math.ceil(args.render_timeout / args.poll))

    def proxy_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.args.proxy_token}",
                "Content-Type": "application/json"}

    def google_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.args.bearer}", "Content-Type": "application/json"}

    async def create_video(self, http: httpx.AsyncClient, prompt: str) -> str | None:
        """The sample's create_video: returns the fifeUrl, or None."""
        args = self.args
        session_id = f";{int(time.time() * 1000)}"
        body_json = {
            "clientContext": {"projectId": args.project, "recaptchaToken": "",
                              "sessionId": session_id, "tool": "PINHOLE",
                              "userPaygateTier": "PAYGATE_TIER_TWO"},
            "requests": [{"aspectRatio": "VIDEO_ASPECT_RATIO_LANDSCAPE",
                          "metadata": {"sceneId": f"scene-{uuid.uuid4()}"},
                          "seed": 8465, "textInput": {"prompt": prompt},
                          "videoModelKey": "veo_3_1_t2v_fast"}],
        }
        payload = {"body_json": body_json, "flow_auth_token": args.bearer,
                   "flow_url": f"{args.api}{GOOGLE_T2V}"}
        r = await http.post(f"{args.proxy}/create-video-veo3", headers=self.proxy_headers(),
                                 json=payload)
        task_id = r.json()["taskId"]

        operations = None
        for _ in range(self.max_polls):
            r = await http.get(f"{args.proxy}/task-status", params={"taskId": task_id},
                                    headers=self.proxy_headers())
            result = r.json().get("result", {})
            if "operations" in result:
                operations = result["operations"]
                break
            await asyncio.sleep(args.poll)
        if not operations:
            return None

        for _ in range(self.max_polls):
            r = await http.post(f"{args.api}{GOOGLE_POLL}", headers=self.google_headers(),
                                     json={"operations": operations})
            if r.status_code == 200:
                op = r.json().get("operations", [{}])[0]
                status = op.get("status", "")
                if status == SUCCESSFUL:
                    return str(op["operation"]["metadata"]["video"]["fifeUrl"])
                if "ERROR" in status or "FAILED" in status:
                    return None
            await asyncio.sleep(args.poll)
        return None

    async def job(self, chat_id: int, message_id: int, prompt: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=60.0, verify=self.tls) as http:
                url = await self.create_video(http, prompt)
                if url is None:
                    logger.warning("chat %d: no video for %r", chat_id, prompt)
                    return
                data = (await http.get(url)).content
                await self.send_video(http, chat_id, message_id, prompt, data)
        except Exception:
            logger.exception("chat %d: job failed", chat_id)

    async def send_video(self, http: httpx.AsyncClient, chat_id: int, message_id: int,
                         prompt: str, data: bytes) -> None:
        fields = {"chat_id": str(chat_id), "caption": f"🎬 {prompt}",
                  "reply_to_message_id": str(message_id)}
        for _ in range(TELEGRAM_TRIES):
            r = await http.post(f"{self.telegram}/sendVideo", data=fields,
                                     files={"video": ("video.mp4", data, "video/mp4")})
            if r.status_code != 429:
                r.raise_for_status()
                return
            retry_after = r.json().get("parameters", {}).get("retry_after", 1)
            await asyncio.sleep(float(retry_after))
        raise RuntimeError("Telegram kept answering 429")

    async def run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        offset: int | None = None
        while True:
            params: dict[str, Any] = {"timeout": 30}
            if offset is not None:
                params["offset"] = offset
            r = await self.http.get(f"{self.telegram}/getUpdates", params=params, timeout=45)
            for update in r.json().get("result", []):
                offset = int(update["update_id"]) + 1
                message = update.get("message") or {}
                text = str(message.get("text") or "")
                if text.startswith("/video "):
                    task = asyncio.create_task(self.job(
                        int(message["chat"]["id"]), int(message["message_id"]),
                        text.removeprefix("/video ").strip()))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)


async def main_async(args: argparse.Namespace) -> None:
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    async with httpx.AsyncClient(timeout=60.0) as http:
        with contextlib.suppress(asyncio.CancelledError):
            await Client(args, http).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--telegram", required=True, help="fake Bot API root")
    parser.add_argument("--token", required=True)
    parser.add_argument("--proxy", required=True, help="proxy root (.../api/fix)")
    parser.add_argument("--api", required=True, help="Google root")
    parser.add_argument("--bearer", required=True)
    parser.add_argument("--proxy-token", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--poll", type=float, required=True)
    parser.add_argument("--render-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
