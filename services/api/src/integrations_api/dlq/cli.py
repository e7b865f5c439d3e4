"""`integrations-dlq`: list the dead letters of a transport, or send them to be delivered again.

Reads the API's settings (`API_KAFKA__*`, `API_TOPICS__*`), so it runs wherever the API runs.
A replayed dead letter goes to its transport's deliveries topic with its integration's current
snapshot from the config topic, the same job id and the next attempt number; dead letters of
deleted or disabled integrations, and unreadable ones, are left where they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from datetime import datetime
from typing import TextIO

from integrations_api.dlq.letters import DeadLetter, current_snapshots, dead_letters
from integrations_api.replays.sender import JobSender
from integrations_api.settings import ApiSettings
from integrations_common.errors import IntegrationsError, map_exceptions
from integrations_common.jobs import DeliveryJob, utc_now
from integrations_common.kafka import KAFKA_ERRORS, create_producer
from integrations_common.transports import Transport

SEND_CHUNK = 500


def _since(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no UTC offset (e.g. 2026-12-01T00:00Z)")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(prog="integrations-dlq", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("list", "print the dead letters, one JSON object a line"),
        ("replay", "send the dead letters to be delivered again"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--transport", required=True, choices=[t.value for t in Transport])
        command.add_argument("--integration", help="only this integration's dead letters")
        command.add_argument(
            "--since", type=_since, help="only those dead-lettered at or after (RFC 3339)"
        )
        if name == "replay":
            command.add_argument(
                "--dry-run", action="store_true", help="say what would be sent; send nothing"
            )
    return root


def _out(line: dict[str, object], *, stream: TextIO = sys.stdout) -> None:
    stream.write(json.dumps(line) + "\n")


def describe(letter: DeadLetter) -> dict[str, object]:
    """One dead letter as the `list` command prints it."""
    job = letter.job
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "dead_lettered_at": letter.dead_at.isoformat(),
        "reason": letter.reason,
        "integration_id": job.integration.id if job else letter.key,
        "job_id": job.job_id if job else None,
        "attempt": job.attempt if job else None,
        "event_id": job.event.id if job else None,
        "event_type": job.event.type if job else None,
        "readable": job is not None,
    }


async def _replay(
    settings: ApiSettings, letters: list[DeadLetter], *, dry_run: bool
) -> Counter[str]:
    tally: Counter[str] = Counter()
    jobs = [letter.job for letter in letters if letter.job is not None]
    tally["unreadable"] = len(letters) - len(jobs)
    current = await current_snapshots(
        settings.kafka, settings.topics.config, {job.integration.id for job in jobs}
    )
    chosen: list[DeliveryJob] = []
    for job in jobs:
        snapshot = current[job.integration.id]
        if snapshot is None:
            tally["skipped_deleted"] += 1
        elif not snapshot.enabled:
            tally["skipped_disabled"] += 1
        else:
            update = {
                "integration": snapshot,
                "not_before": None,
                "routed_at": utc_now(),
                "replay": True,
            }
            chosen.append(job.model_copy(update=update))
    if not dry_run and chosen:
        producer = create_producer(settings.kafka)
        try:
            with map_exceptions(KAFKA_ERRORS):
                await producer.start()
            sender = JobSender(
                producer=producer, topics=settings.topics, timeout_s=settings.publishing.timeout_s
            )
            for start in range(0, len(chosen), SEND_CHUNK):
                await sender.send(chosen[start : start + SEND_CHUNK], origin="dlq")
        finally:
            await producer.stop()
    tally["would_replay" if dry_run else "replayed"] = len(chosen)
    return tally


async def run(argv: list[str]) -> int:
    """Run one command; answers the exit code."""
    args = parser().parse_args(argv)
    settings = ApiSettings()
    topic = settings.topics.dead_letters(Transport(args.transport))
    letters = await dead_letters(
        settings.kafka, topic, integration_id=args.integration, since=args.since
    )
    if args.command == "list":
        for letter in letters:
            _out(describe(letter))
        _out({"topic": topic, "dead_letters": len(letters)}, stream=sys.stderr)
        return 0
    tally = await _replay(settings, letters, dry_run=args.dry_run)
    _out({"topic": topic, **tally})
    return 0


def main() -> None:
    """Entry point of `integrations-dlq`."""
    try:
        code = asyncio.run(run(sys.argv[1:]))
    except IntegrationsError as exc:
        sys.stderr.write(f"integrations-dlq: {exc}\n")
        code = 1
    sys.exit(code)
