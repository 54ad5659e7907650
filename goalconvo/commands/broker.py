"""``broker``: the embedded Kafka-protocol broker on its own, so several workers on one machine share one bus."""

from __future__ import annotations

import json

import typer

from goalconvo.commands.common import console, fail, make_settings, run_async, setup_logging


def broker(
    port: int = typer.Option(9092, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one)."),
    topics: bool = typer.Option(
        True, "--topics/--no-topics",
        help="Create the pipeline's topics now (GOALCONVO_TOPIC_PREFIX, GOALCONVO_APP_ID, GOALCONVO_PARTITIONS).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the address as JSON."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run the embedded broker (Tansu, in memory) until Ctrl-C or SIGTERM, and print its address.

    Workers, `goals produce`, `replay` and the rest then point at it with
    --bootstrap-servers (or GOALCONVO_BOOTSTRAP_SERVERS). It creates the
    pipeline's topics for the current settings before it says it is ready (a
    producer that came first would make the broker create them with its own
    partition count); workers create any that are missing, so workers of
    another app id may share it. Everything in it lives in memory and is lost
    when it stops: for durable runs use Kafka (docker-compose.kafka.yml).
    """
    from goalconvo.commands.common import StopRequest
    from goalconvo.commands.runner import serve_broker
    from goalconvo.streams.broker import BrokerError

    setup_logging(verbose)
    s = make_settings()
    stop = StopRequest()

    def ready(address: str) -> None:
        if as_json:
            print(json.dumps({"bootstrap_servers": address, "topic_prefix": s.topic_prefix, "app_id": s.app_id}), flush=True)
            return
        print(f"broker listening on {address} (in memory: everything in it is lost when it stops)", flush=True)
        print(f"  GOALCONVO_BOOTSTRAP_SERVERS={address} goalconvo worker", flush=True)
        print(f"  GOALCONVO_BOOTSTRAP_SERVERS={address} goalconvo worker --no-sink   # more workers, same group",
              flush=True)
        print(f"  GOALCONVO_BOOTSTRAP_SERVERS={address} goalconvo goals produce", flush=True)

    try:
        seconds = run_async(serve_broker(s, port, stop=stop.event, on_ready=ready, topics=topics), stop=stop)
    except (BrokerError, OSError) as exc:
        fail(exc)
    console.print(f"broker stopped ({stop.signal_name or 'requested'}) after {seconds:.1f} s; its topics are gone")
