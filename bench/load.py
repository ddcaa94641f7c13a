"""A load generator in its own process: N concurrent clients for a fixed time, over loopback."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx


async def _client(
    args: argparse.Namespace, stop: float, latencies: list[float], errors: list[int]
) -> None:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=30) as http:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            if args.method == "GET":
                response = await http.get(args.path)
            else:
                body = {
                    "direction": "sent",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "device_tag": "BENCH-1",
                    "summary": "Reminded the team of Saturday's kick-off time",
                }
                response = await http.post(
                    args.path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
            if response.status_code < 300:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(response.status_code)


async def main(args: argparse.Namespace) -> None:
    latencies: list[float] = []
    errors: list[int] = []
    stop = time.perf_counter() + args.seconds
    await asyncio.gather(*(_client(args, stop, latencies, errors) for _ in range(args.concurrency)))
    ordered = sorted(latencies) or [0.0]
    print(
        json.dumps(
            {
                "rps": len(latencies) / args.seconds,
                "p50_ms": statistics.median(ordered) * 1000,
                "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
                "errors": len(errors),
                "error_codes": sorted(set(errors)),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--token", default="")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    asyncio.run(main(parser.parse_args()))
