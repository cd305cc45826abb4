"""The knowledge base's pure parts: list formats, name matching (with the labelled set),
query fields, ECCNs and the Federal Register parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from pipeline.config import EntityConfig, RuleConfig
from pipeline.errors import FetchError
from pipeline.kb.changes import diff
from pipeline.kb.eccn import EccnTable
from pipeline.kb.federal_register import parse_federal_register
from pipeline.kb.formats import KbFormatError, Party, parse_list_file, short_list_name
from pipeline.kb.knowledge import KnowledgeBase
from pipeline.kb.names import NameIndex
from pipeline.kb.service import curated_aliases
from pipeline.match import Document, RuleSet
from pipeline.types import Article

DATA = Path(__file__).parent / "data" / "kb"
ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CURATED = [
    EntityConfig(id="jhicc", name="JHICC", type="company", aliases=["JHICC", "Fujian Jinhua"])
]


@pytest.fixture(scope="module")
def parties() -> tuple[Party, ...]:
    return parse_list_file((DATA / "csl.json").read_bytes(), "csl.json")


@pytest.fixture(scope="module")
def index(parties: tuple[Party, ...]) -> NameIndex:
    return NameIndex(parties, curated_aliases(parties, CURATED))


def found(index: NameIndex, text: str, title: str = "") -> set[str]:
    doc = Document.of(Article(url="", title=title, text=text, source=""))
    return {hit.party.name for hit in index.find(doc)}


# --------------------------------------------------------------------------- formats


def test_json_and_csv_give_the_same_parties_with_every_field(parties: tuple[Party, ...]) -> None:
    from_csv = parse_list_file((DATA / "csl_v2.csv").read_bytes(), "csl_v2.csv")
    huawei = next(p for p in parties if p.name.startswith("Huawei"))
    assert huawei.alt_names == ("Huawei", "华为技术有限公司", "华为")
    assert huawei.countries == ("CN",)
    assert huawei.federal_register_notice == "84 FR 22961"
    assert huawei.start_date == "2019-05-16"
    assert huawei.license_policy == "Presumption of denial."
    assert huawei.describe() == "Entity List since 2019-05-16, 84 FR 22961"
    assert next(p for p in from_csv if p.key == huawei.key) == huawei
    mikron = next(p for p in from_csv if p.name == "Joint Stock Company Mikron")
    assert mikron.programs == ("RUSSIA-EO14024",) and mikron.countries == ("RU",)
    assert len(parties) == 36 and len(from_csv) == 36


def test_list_names_are_shortened_for_display() -> None:
    assert short_list_name("Entity List (EL) - Bureau of Industry and Security") == "Entity List"
    assert (
        short_list_name("Military End User (MEU) List - Bureau of Industry and Security")
        == "Military End User List"
    )
    assert short_list_name("Specially Designated Nationals (SDN) - Treasury Department") == (
        "Specially Designated Nationals"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"results": [{"name": "X"}]}', "bad.json: results[0]: 'name' and 'source' are required"),
        (b'{"results": ', "bad.json: invalid JSON at line 1"),
        (
            b"name,country\nX,CN\n",
            "bad.json: not a Consolidated Screening List CSV (no column source)",
        ),
        (b'{"total": 1}', "bad.json: no 'results' array"),
    ],
)
def test_bad_files_are_named_with_the_record(body: bytes, message: str) -> None:
    with pytest.raises(KbFormatError) as raised:
        parse_list_file(body, "bad.json")
    assert str(raised.value).startswith(message)


def test_diff_reports_added_and_removed_per_list(parties: tuple[Party, ...]) -> None:
    stored = {p.key: p for p in parties}
    later = parse_list_file((DATA / "csl_v2.csv").read_bytes(), "csl_v2.csv")
    changes = diff(stored, later)
    assert [(c.rule, [p.name for p in c.parties]) for c in changes] == [
        ("kb:entity-list-added", ["Beijing Zhipu Huazhang Technology Co., Ltd."]),
        ("kb:entity-list-removed", ["Corad Technology Limited"]),
    ]
    assert diff({}, later) == []  # the first load is a baseline, not news


# --------------------------------------------------------------------------- names


def test_labelled_sentences_precision_and_recall(index: NameIndex) -> None:
    labelled = yaml.safe_load((DATA / "sentences.yaml").read_text())
    items = labelled["positives"] + labelled["near_misses"]
    assert len(labelled["positives"]) >= 50 and len(labelled["near_misses"]) >= 50
    true_pos = false_pos = false_neg = 0
    for item in items:
        names = found(index, item["text"])
        expected = item["party"]
        if expected:
            true_pos += expected in names
            false_neg += expected not in names
        false_pos += len(names - {expected})
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    print(f"name matching: precision {precision:.3f}, recall {recall:.3f} on {len(items)}")
    assert precision >= 0.98
    assert recall >= 0.9


def test_legal_forms_are_stripped_and_words_bounded(index: NameIndex) -> None:
    assert found(index, "Huawei Technologies Co., Ltd. sold phones.") == {
        "Huawei Technologies Co., Ltd."
    }
    assert found(index, "Huawei Technologies Ltd sold phones.") == {"Huawei Technologies Co., Ltd."}
    assert found(index, "Huaweiish phones are everywhere.") == set()
    assert found(index, "Hikvisionary designs won.") == set()


def test_acronyms_match_only_in_capitals(index: NameIndex) -> None:
    assert found(index, "SMIC raised prices.") == {
        "Semiconductor Manufacturing International Corporation"
    }
    assert found(index, "Smic raised prices.") == set()
    assert found(index, "The YMTC fab expanded.") == {"Yangtze Memory Technologies Co., Ltd."}


def test_weak_names_need_context(index: NameIndex) -> None:
    assert found(index, "Galaxy Electronics reported sales.") == set()
    assert found(index, "Galaxy Electronics in Hong Kong reported sales.") == {
        "Galaxy Electronics Ltd."
    }
    assert found(index, "The ICT budget grew.") == set()
    assert found(index, "ICT was put on the Entity List.") == {
        "Institute of Computing Technology, Chinese Academy of Sciences"
    }
    assert found(index, "AI is everywhere, and so is the US.") == set()


def test_chinese_names_match_as_written(index: NameIndex) -> None:
    assert found(index, "中芯国际发布财报") == {
        "Semiconductor Manufacturing International Corporation"
    }
    assert found(index, "华为发布新手机") == set()  # two characters: weak, no context
    assert found(index, "美国把华为列入实体清单") == {"Huawei Technologies Co., Ltd."}


def test_curated_aliases_lend_names_the_lists_lack(parties: tuple[Party, ...]) -> None:
    plain = NameIndex(parties)
    curated = NameIndex(parties, curated_aliases(parties, CURATED))
    text = "Fujian Jinhua was indicted."
    assert found(plain, text) == set()
    assert found(curated, text) == {"Fujian Jinhua Integrated Circuit Co., Ltd."}


# --------------------------------------------------------------------------- queries and notes


def ruleset(parties: tuple[Party, ...], *queries: str) -> RuleSet:
    kb = KnowledgeBase.build(parties, EccnTable.load(ROOT / "config"))
    rules = [RuleConfig(name=f"r{n}", query=q) for n, q in enumerate(queries)]
    return RuleSet.from_config(rules, annotator=kb)


def test_entity_listed_and_list_fields_in_queries(parties: tuple[Party, ...]) -> None:
    rules = ruleset(parties, "entity:listed", 'list:"Entity List"', "list:SDN", "list:meu")
    huawei = rules.analyse(Article(url="", title="Huawei results", text="Profit rose.", source=""))
    assert [m.rule for m in huawei.matches] == ["r0", "r1"]
    mikron = rules.analyse(Article(url="", title="", text="Mikron in Russia.", source=""))
    assert [m.rule for m in mikron.matches] == ["r0", "r2"]
    avic = rules.analyse(Article(url="", title="", text="AVIC flies.", source=""))
    assert [m.rule for m in avic.matches] == ["r0", "r3"]
    nobody = rules.analyse(Article(url="", title="", text="Apple sells phones.", source=""))
    assert nobody.matches == ()


def test_alerts_carry_the_listing_and_eccn_notes(parties: tuple[Party, ...]) -> None:
    rules = ruleset(parties, "chips")
    analysis = rules.analyse(
        Article(url="", title="SMIC buys chips", text="It needs 3A090.a chips.", source="")
    )
    notes = analysis.matches[0].highlights
    assert (
        'Listed: Semiconductor Manufacturing International Corporation (as "SMIC") — '
        "Entity List since 2020-12-22, 85 FR 83420" in notes
    )
    assert any(note.startswith("ECCN 3A090: Advanced computing") for note in notes)
    assert "eccn:3A090" in analysis.entities and "listed:Entity List" in analysis.entities


def test_doctype_field(parties: tuple[Party, ...]) -> None:
    rules = ruleset(parties, "doctype:rule", "doctype:proposed_rule")
    rule = Article(url="", title="Entity List additions", text="", source="", doctype="rule")
    assert [m.rule for m in rules.analyse(rule).matches] == ["r0"]
    news = Article(url="", title="A rule about chips", text="", source="")
    assert rules.analyse(news).matches == ()


# --------------------------------------------------------------------------- Federal Register


def fr_document(number: str, kind: str, **extra: object) -> dict[str, object]:
    return {
        "document_number": number,
        "title": f"Additions to the Entity List ({number})",
        "type": kind,
        "abstract": "BIS amends the EAR by adding entities to the Entity List.",
        "citation": "90 FR 4626",
        "publication_date": "2025-01-16",
        "effective_on": "2025-01-15",
        "html_url": f"https://www.federalregister.gov/documents/2025/01/16/{number}/x",
        "body_html_url": None,
        "raw_text_url": None,
        "agencies": [
            {"raw_name": "DEPARTMENT OF COMMERCE", "name": "Commerce Department", "slug": "c"},
            {"raw_name": "Bureau of Industry and Security", "name": "Industry and Security Bureau"},
        ],
        **extra,
    }


def test_federal_register_documents_become_entries_with_type_and_facts() -> None:
    body = json.dumps(
        {
            "count": 2,
            "description": "Documents from Industry and Security Bureau",
            "results": [fr_document("2025-00798", "Rule"), fr_document("2025-00800", "Notice")],
        }
    ).encode()
    parsed = parse_federal_register(body, content_type="application/json", now=NOW)
    rule, notice = parsed.entries
    assert (rule.doctype, notice.doctype) == ("rule", "notice")
    assert rule.guid == "federalregister:2025-00798"
    assert rule.published == datetime(2025, 1, 16, tzinfo=UTC)
    assert rule.preface == (
        "Rule · 90 FR 4626 · published 2025-01-16 · effective 2025-01-15 · "
        "Commerce Department, Industry and Security Bureau · document 2025-00798"
    )
    assert rule.summary.startswith("BIS amends the EAR")


@pytest.mark.parametrize("body", [b"<rss/>", b'{"error": "bad"}', b"[1, 2]"])
def test_federal_register_parser_refuses_other_documents(body: bytes) -> None:
    with pytest.raises(FetchError):
        parse_federal_register(body, now=NOW)
