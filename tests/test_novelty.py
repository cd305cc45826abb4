"""Story updates, the pure part: which sentences of a later article bring new facts."""

from __future__ import annotations

import yaml

from bench.updates import STORIES, score
from pipeline.novelty import facts_of, novelty, split_sentences

ORIGINAL = (
    "Nvidia to resume H20 sales to China.\n"
    "Nvidia said it will resume sales of its H20 chip to China after the U.S. Commerce "
    "Department signalled it would grant licences."
)


def test_new_numbers_products_and_names_are_new_facts() -> None:
    later = (
        "The U.S. government will receive 15% of revenue, officials said. "
        "AMD's MI308 is included in the deal, worth $1.5 billion."
    )
    found = novelty([ORIGINAL], later)
    assert found.is_update
    assert [set(s.facts) for s in found.sentences] == [{"15%"}, {"AMD's", "MI308", "$1.5 billion"}]


def test_a_rewrite_in_other_words_adds_nothing() -> None:
    known = [ORIGINAL, "The US will take 15% of revenue from H20 sales worth $1.5bn."]
    rewrite = (
        "WASHINGTON, Aug 12 (Wirewire) - The United States will take 15 percent of the "
        "revenue from Nvidia's H20 chip sales to China, worth $1.5 billion."
    )
    found = novelty(known, rewrite)
    assert not found.is_update
    assert found.sentences == ()


def test_agency_headline_tags_and_datelines_are_not_facts() -> None:
    """``UPDATE 1-`` once read as the product "1" and sent an update for a plain copy."""
    copy = "UPDATE 1-Nvidia to resume H20 sales to China\nNvidia will resume H20 sales to China."
    assert novelty([ORIGINAL], copy).sentences == ()
    assert split_sentences("REFILE-Commerce adds firms") == ["Commerce adds firms"]


def test_eccns_dates_and_years_are_facts() -> None:
    facts = facts_of("Items under ECCN 3A090.c are controlled from Dec. 31, 2025 for 120 days.")
    assert set(facts) >= {"eccn:3A090.C", "date:12-31", "year:2025", "num:120"}


def test_a_single_new_name_is_not_enough_but_two_are() -> None:
    assert not novelty(
        [ORIGINAL], "Nvidia will resume H20 sales to China, Bloomberg said."
    ).is_update
    assert novelty([ORIGINAL], "Samsung and SK Hynix are also covered.").is_update


def test_abbreviations_do_not_end_sentences() -> None:
    text = "The U.S. Commerce Department acted on Aug. 12 against SMIC. It cited Huawei."
    assert split_sentences(text) == [
        "The U.S. Commerce Department acted on Aug. 12 against SMIC.",
        "It cited Huawei.",
    ]


def test_labelled_developing_stories() -> None:
    """≥ 20 stories written for this project, 3–6 versions each, rewrites included."""
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]
    assert len(stories) >= 20
    assert all(3 <= len(story["versions"]) <= 6 for story in stories)
    assert sum(not v["update"] for s in stories for v in s["versions"][1:]) >= 20
    result = score()
    print(f"precision {result.precision:.3f} recall {result.recall:.3f}", *result.mistakes)
    assert result.precision >= 0.95
    assert result.recall >= 0.95
