from goalconvo.core.goals import builtin_goals, describe_goal, iter_jsonl, multiwoz_goals
from goalconvo.core.records import KNOWN_DOMAINS

from conftest import MULTIWOZ, needs_multiwoz


def test_builtin_goals_cover_every_domain_single_and_multi():
    goals = builtin_goals()
    assert len(goals) >= 40
    assert len({g.goal_id for g in goals}) == len(goals)
    assert {d for g in goals for d in g.domains} == set(KNOWN_DOMAINS)
    assert any(len(g.domains) == 1 for g in goals)
    assert any(len(g.domains) >= 2 for g in goals)
    assert any(len(g.domains) >= 3 for g in goals)


def test_describe_goal_names_constraints_requests_and_booking():
    g = builtin_goals()[0]
    text = describe_goal(g)
    assert "hotel" in text and "east" in text and "phone" in text and "reference number" in text


@needs_multiwoz()
def test_multiwoz_importer_reads_the_zip_with_all_goals():
    goals = multiwoz_goals(MULTIWOZ / "val.json.zip")
    assert len(goals) == 999
    sizes = [len(g.domains) for g in goals]
    assert (sizes.count(1), sizes.count(2), sizes.count(3)) == (204, 646, 149)
    first = next(g for g in goals if g.goal_id == "multiwoz:PMUL1635")
    assert first.domains["hotel"].book == {"people": "3", "day": "monday", "stay": "4"}
    assert "<span" not in " ".join(first.message)


def test_jsonl_lines_get_content_ids_and_bad_lines_pass_through(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text('{"domains": {"taxi": {"info": {"leaveAt": "17:15"}}}}\n\nnot json\n')
    out = list(iter_jsonl(p))
    assert len(out) == 2
    assert b'"goal_id": "jsonl:' in out[0]
    assert out[1] == b"not json"
    assert list(iter_jsonl(p))[0] == out[0]
