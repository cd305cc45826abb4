"""The shipped watchlist reads a bare headline: each class of phrasing it claims to
understand alerts, and the usual near misses stay quiet. The headlines are written for
this test (no publisher text); the real-feed figures are in test_rules_labels.py."""

from pathlib import Path

import pytest

from pipeline.config import load_entities, load_rules_file
from pipeline.match import RuleSet
from pipeline.types import Article
from tests.conftest import ROOT

CONFIG = ROOT / "config"


@pytest.fixture(scope="module")
def watchlist() -> RuleSet:
    rules = load_rules_file(CONFIG / "rules.yaml").rules
    return RuleSet.from_config(rules, "rules.yaml", load_entities(Path(CONFIG)).entities)


def article(title: str, text: str = "") -> Article:
    return Article(
        url="test:",
        title=title,
        text=text,
        source="test",
        canonical_url="test:",
        published=None,
        extraction="test",
    )


def rules_hit(watchlist: RuleSet, headline: str) -> set[str]:
    return {match.rule for match in watchlist.analyse(article(headline)).matches}


@pytest.mark.parametrize(
    ("headline", "rule"),
    [
        # a government permits, restricts, reviews, pauses, taxes or blocks chip sales
        ("Commerce lets Nvidia resume H20 shipments to Chinese buyers", "china-chip-sales"),
        ("White House reviews AMD request to sell MI308 accelerators in China", "china-chip-sales"),
        ("US pauses licences for chip design software sales to China", "china-chip-sales"),
        ("Administration to levy a tax on Nvidia's China chip sales", "china-chip-sales"),
        ("Beijing bars state firms from buying Nvidia processors", "china-chip-sales"),
        ("US weighs letting Nvidia ship B30A to China", "china-chip-sales"),
        ("Washington widens chip restrictions to cover memory makers", "chip-export-controls"),
        ("New chip-export limits hit Chinese AI labs", "chip-export-controls"),
        ("Critics say scrapping AI export controls is a mistake", "chip-export-controls"),
        # third countries
        ("UAE's G42 wins approval to import advanced AI chips", "third-country-chip-deals"),
        ("Malaysia to require permits for shipments of US AI chips", "third-country-chip-deals"),
        ("Saudi AI firm Humain cleared to buy Blackwell chips", "third-country-chip-deals"),
        # legislation, lists, smuggling
        ("Senate passes Chip Security Act requiring location checks", "chip-export-legislation"),
        ("GAIN AI Act dropped from defence bill", "chip-export-legislation"),
        ("Lawmakers unveil bill to curb AI chip exports to China", "chip-export-legislation"),
        ("Commerce puts 12 Chinese chip firms on trade blacklist", "entity-list"),
        (
            "Three charged with smuggling Nvidia GPUs through Singapore",
            "chip-smuggling-enforcement",
        ),
    ],
)
def test_each_class_of_headline_alerts(watchlist: RuleSet, headline: str, rule: str) -> None:
    assert rule in rules_hit(watchlist, headline)


@pytest.mark.parametrize(
    "headline",
    [
        "Blue-chip stocks rally as rate cut hopes grow",
        "Soybeans become a bargaining chip in trade talks with China",
        "Potato chip exports to China hit a record",
        "Taiwan's exports hit record on AI chip demand",
        "Nvidia shares fall as investors fret over AI spending",
        "Samsung profit jumps on memory chip prices",
        "Intel wins approval for Ohio chip plant",
        "Lawmakers approve CHIPS Act grant for Arizona fab",
        "South Korea's exports rebound on semiconductor shipments",
    ],
)
def test_near_misses_stay_quiet(watchlist: RuleSet, headline: str) -> None:
    assert rules_hit(watchlist, headline) == set()


def test_chip_exports_need_a_control_word_next_to_them(watchlist: RuleSet) -> None:
    """Potato chip exports stay quiet even when the story mentions rules further on."""
    story = article(
        "Potato chip exports hit a record",
        "Growers were pleased. The association warned that new packaging rules would raise costs.",
    )
    assert watchlist.analyse(story).matches == ()
