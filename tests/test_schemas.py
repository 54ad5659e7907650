import orjson
import pytest

from goalconvo.core.records import SCHEMA_VERSION, Goal, dialogue_id_for
from goalconvo.core.wire import DecodeError, decode, encode


def _goal(**kw):
    base = {"goal_id": "g1", "domains": {"hotel": {"info": {"area": "east"}, "reqt": ["phone"]}}}
    base.update(kw)
    return base


def test_roundtrip_keeps_every_field_and_version():
    g = decode(Goal, orjson.dumps(_goal(message=["find a hotel"])))
    again = decode(Goal, encode(g))
    assert again == g
    assert orjson.loads(encode(g))["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (orjson.dumps({"domains": {"hotel": {}}}), "goal_id"),
        (orjson.dumps(_goal(domains={"spaceship": {}})), "unknown domain"),
        (orjson.dumps(_goal(domains={})), "at least one domain"),
        (orjson.dumps(_goal(schema_version=99)), "schema_version 99 is not supported"),
        (orjson.dumps(_goal(domains={"hotel": {"reqt": "phone"}})), "reqt"),
        (None, "empty event"),
    ],
)
def test_bad_goal_events_get_readable_reasons(raw, fragment):
    with pytest.raises(DecodeError) as info:
        decode(Goal, raw)
    assert fragment in str(info.value)


def test_multiwoz_booleans_are_dropped_from_slots():
    g = Goal.model_validate(_goal(domains={"hotel": {"book": {"people": "3", "invalid": False}}}))
    assert g.domains["hotel"].book == {"people": "3"}


def test_dialogue_id_is_stable_per_run_and_goal():
    assert dialogue_id_for("r1", "g1") == dialogue_id_for("r1", "g1")
    assert dialogue_id_for("r1", "g1") != dialogue_id_for("r2", "g1")
