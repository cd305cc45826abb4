import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import EntityConfig, RuleConfig
from pipeline.match import Document, QuerySyntaxError, RuleError, RuleSet, compile_query
from pipeline.match import index as match_index
from pipeline.match import query as match_query
from pipeline.match.evidence import weigh
from pipeline.match.query import Hit
from pipeline.types import Article


def article(title: str = "", text: str = "", source: str = "Wire") -> Article:
    return Article(url="https://x.example/a", title=title, text=text, source=source)


def hits(query: str, title: str = "", text: str = "", source: str = "Wire") -> bool:
    return compile_query(query).hits(Document.of(article(title, text, source))) is not None


def test_boolean_operators() -> None:
    assert hits("export AND chips", text="New export rules for chips")
    assert not hits("export AND chips", text="New export rules for cars")
    assert hits("cars OR chips", text="chips")
    assert hits("chips AND NOT potato", text="chips for AI")
    assert not hits("chips AND NOT potato", text="potato chips")
    assert hits("(chips OR wafers) AND export", text="wafers export")


def test_adjacent_terms_mean_and() -> None:
    assert hits("export chips", text="chips were cleared for export")
    assert not hits("export chips", text="chips only")


def test_phrase_requires_adjacent_words_in_order() -> None:
    assert hits('"entity list"', text="added to the Entity List on Friday")
    assert not hits('"entity list"', text="the list of each entity")


def test_hyphens_and_dashes_read_as_word_breaks() -> None:
    assert hits('"export control"', text="an export-control regime")
    assert hits('"export control"', text="an export\u2013control regime")


def test_prefix_wildcard() -> None:
    assert hits("licen*", text="Licences were granted")
    assert hits('"export licen*"', text="an export license")
    assert not hits("licen*", text="lichen grows")


def test_proximity() -> None:
    text = "Export rules announced on Friday cover advanced chips."  # 7 words apart
    assert hits('"export chips"~7', text=text)
    assert not hits('"export chips"~6', text=text)
    assert hits('"chips export"~7', text=text), "proximity ignores order"
    assert not hits('"export chips"~7', title="Export rules", text="advanced chips"), (
        "no crossing fields"
    )


def test_field_restriction() -> None:
    assert hits("title:nvidia", title="Nvidia results", text="nothing")
    assert not hits("title:nvidia", title="Results", text="Nvidia said")
    assert hits("text:nvidia", title="Results", text="Nvidia said")
    assert hits("source:harbour", source="Harbour Wire")
    assert hits('title:("entity list" OR fdpr)', title="FDPR expanded")


def test_all_caps_terms_are_case_sensitive() -> None:
    assert hits("H20", text="sales of the H20 accelerator")
    assert not hits("H20", text="the h20 model")
    assert not hits("H20", text="drink more H2O")
    assert hits("BIS", text="BIS said on Monday")
    assert not hits("BIS", text="a bis repetita")
    assert hits("nvidia", text="NVIDIA Corp"), "lower-case terms ignore case"


def test_dotted_abbreviations_are_normalised() -> None:
    assert hits('"US export"', text="new U.S. export rules")
    assert hits("US", text="the U.S. said")


def test_errors_are_explicit() -> None:
    with pytest.raises(QuerySyntaxError, match="empty"):
        compile_query("   ")
    with pytest.raises(QuerySyntaxError, match="at least one term"):
        compile_query("NOT potato")
    with pytest.raises(QuerySyntaxError, match="syntax error"):
        compile_query("chips AND")
    with pytest.raises(QuerySyntaxError, match="unknown field 'body'"):
        compile_query("body:chips")
    with pytest.raises(QuerySyntaxError, match="fuzzy"):
        compile_query("chips~2")


def test_rule_errors_name_file_rule_and_problem() -> None:
    rules = [RuleConfig(name="ok", query="chips"), RuleConfig(name="broken", query="(chips")]
    with pytest.raises(RuleError) as caught:
        RuleSet.from_config(rules, "config/rules.yaml")
    message = str(caught.value)
    assert message.startswith("config/rules.yaml: rules[1] (broken): query: syntax error")


def test_title_hits_score_higher_than_deep_mentions() -> None:
    ruleset = RuleSet.from_config([RuleConfig(name="r", query="sanctions")])
    filler = " ".join(["word"] * 300)
    in_title = ruleset.match(article("New sanctions", "Officials spoke."))[0]
    deep = ruleset.match(article("Officials spoke", f"{filler} sanctions"))[0]
    assert in_title.score > deep.score


def test_scores_cap_each_term_and_round_only_what_is_not_whole_quarters() -> None:
    deep = [Hit("text", 200 + i, 200 + i, "chip") for i in range(12)]
    phrase = Hit("title", 0, 1, "entity list", 1.5)
    assert weigh([*deep, phrase]) == (5.0 + 4.5, ("chip", "entity list"))
    assert weigh([phrase, phrase]) == (4.5, ("entity list",)), "the same hit counts once"
    odd = [Hit("text", i, i, f"t{i}", 1.1) for i in range(3)]
    assert sum(1.1 for _ in range(3)) != 3.3
    assert weigh(odd)[0] == 3.3


def test_min_score_filters() -> None:
    ruleset = RuleSet.from_config([RuleConfig(name="r", query="sanctions", min_score=2)])
    assert ruleset.match(article("Sanctions", "")) != []
    assert ruleset.match(article("", "sanctions")) == []


def test_match_records_terms_and_marked_highlights() -> None:
    ruleset = RuleSet.from_config(
        [RuleConfig(name="r", query='"entity list" AND chip*', tags=["t"])]
    )
    [match] = ruleset.match(
        article(
            "Firms added",
            "Weather was fine. Commerce added 12 chip firms to the Entity List. Other news.",
        )
    )
    assert match.rule == "r" and match.tags == ("t",)
    assert set(match.terms) == {'"entity list"', "chip*"}
    assert match.highlights == ("Commerce added 12 **chip** firms to the **Entity List**.",)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Chip  curbs\nwidened", "Intro.\n Officials said  the chip curbs widen. End."),
        ("Chip\tcurbs widened", "Intro. Officials said the chip\tcurbs widen. End."),
        ("Chip curbs\nwidened", "Intro.\n Officials said the chip curbs widen. End.\n"),
        ("Chip curbs widened", "Intro. Officials said the chip curbs widen \u2014 \u00e9t\u00e9."),
    ],
)
def test_highlights_are_single_spaced_whatever_the_text(title: str, text: str) -> None:
    """Runs of whitespace become one space and none is left at the ends, whether the
    field is single-spaced (only the ends to trim) or not."""
    [match] = RuleSet.from_config([RuleConfig(name="r", query="chip")]).match(article(title, text))
    assert match.highlights[0] == "**Chip** curbs widened"
    assert match.highlights[1].startswith("Officials said the **chip** curbs widen")
    for snippet in match.highlights:
        assert " ".join(snippet.split()) == snippet


@settings(max_examples=200, deadline=None)
@given(title=st.text(), text=st.text())
def test_matcher_never_raises_on_arbitrary_text(title: str, text: str) -> None:
    ruleset = RuleSet.from_config(
        [RuleConfig(name="r", query='("export licen*"~5 OR H20 OR chip*) AND NOT title:potato')]
    )
    for match in ruleset.match(article(title, text)):
        assert match.score > 0


GAZETTEER = [
    EntityConfig(
        id="nvidia", name="Nvidia", type="company", aliases=["Nvidia", "NVIDIA Corp", "NVDA"]
    ),
    EntityConfig(
        id="bis", name="BIS", type="agency", aliases=["Bureau of Industry and Security", "BIS"]
    ),
    EntityConfig(id="ascend", name="Ascend", type="product", aliases=["Ascend 910*"]),
]


def test_entity_queries_match_any_alias() -> None:
    ruleset = RuleSet.from_config(
        [RuleConfig(name="r", query="entity:nvidia AND China")], entities=GAZETTEER
    )
    assert ruleset.match(article("NVDA falls", "China sales"))
    assert ruleset.match(article("", "nvidia and China"))
    assert not ruleset.match(article("nvda falls", "China sales")), "NVDA is case-sensitive"
    [match] = ruleset.match(article("NVIDIA Corp in China", ""))
    assert "entity:nvidia" in match.terms


def test_articles_record_the_entities_found() -> None:
    ruleset = RuleSet.from_config([], entities=GAZETTEER)
    found = ruleset.analyse(
        article("Huawei ships Ascend 910C", "The Bureau of Industry and Security warned.")
    )
    assert found.entities == ("bis", "ascend")
    assert ruleset.analyse(article("The bis repetita", "")).entities == ()


def test_unknown_entity_is_an_error() -> None:
    with pytest.raises(RuleError, match=r"rules\[0\] \(r\): query: unknown entity 'nvidiaa'"):
        RuleSet.from_config([RuleConfig(name="r", query="entity:nvidiaa")], entities=GAZETTEER)


WORDS = ["export", "chips", "China", "BIS", "licence", "H20", "potato", "Nvidia", "ban", "rule"]
word = st.sampled_from(WORDS)
term = st.one_of(
    word,
    word.map(lambda w: w[:3] + "*"),
    st.tuples(word, word).map(lambda p: f'"{p[0]} {p[1]}"'),
    st.tuples(word, word, st.integers(1, 6)).map(lambda p: f'"{p[0]} {p[1]}"~{p[2]}'),
    st.tuples(word, word, word, st.integers(1, 6)).map(lambda p: f'"{p[0]} {p[1]} {p[2]}"~{p[3]}'),
    st.tuples(word, st.sampled_from(["%", "$", "&"])).map(lambda p: f'"{p[0]} {p[1]}"'),
    word.map(lambda w: f'"{w[:3]}* chips"'),
    word.map(lambda w: f"title:{w}"),
    word.map(lambda w: f"text:{w}*"),
)
query = st.recursive(
    term,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND NOT {p[1]})"),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    queries=st.lists(query, min_size=1, max_size=8),
    title=st.lists(st.one_of(word, st.sampled_from(["%", "$5", "R&D"])), max_size=6),
    text=st.lists(
        st.one_of(word, st.sampled_from(["the", "a", "h20", "chip", "25%", "$", "&", "U.S."])),
        max_size=30,
    ),
    arrays=st.booleans(),
    caps=st.sampled_from([(16, 64), (1, 64), (1, 1)]),
)
def test_index_finds_exactly_the_rules_that_brute_force_finds(
    queries, title, text, arrays, caps
) -> None:
    """Both ways of finding pairs (the loop, and the flat arrays of large rule sets), and
    every way an OR is indexed (each branch's ways, one way per child, a single way)."""
    rules = [RuleConfig(name=f"r{i}", query=q) for i, q in enumerate(queries)]
    saved = match_index.ARRAY_PAIRS, match_query.MAX_ALTERNATIVES, match_query.MAX_BRANCHES
    match_index.ARRAY_PAIRS = 0 if arrays else saved[0]
    match_query.MAX_ALTERNATIVES, match_query.MAX_BRANCHES = caps
    try:
        ruleset = RuleSet.from_config(rules)
    finally:
        match_index.ARRAY_PAIRS, match_query.MAX_ALTERNATIVES, match_query.MAX_BRANCHES = saved
    assert (ruleset._rule_index.arrays is not None) == arrays
    doc_article = article(" ".join(title), " ".join(text))
    doc = Document.of(doc_article)
    brute = {rule.name for rule in ruleset.rules if rule.node.hits(doc)}
    assert {m.rule for m in ruleset.match(doc_article)} == brute
    scores = {r.name: weigh(r.node.hits(doc) or [])[0] for r in ruleset.rules}
    for match in ruleset.match(doc_article):
        assert match.score == scores[match.rule], "the scan's shortcuts lose no evidence"


def test_pair_arrays_open_only_pairs_whose_two_triggers_occur() -> None:
    entry = (7, ())
    split = match_index._split([entry])
    arrays = match_index.PairArrays(
        {3: (frozenset({5, 9}), {5: split, 9: split}), 4: (frozenset({1}), {1: split})}
    )
    assert arrays.opened(set()) == []
    assert arrays.opened({3}) == [], "a first trigger alone opens nothing"
    assert arrays.opened({5, 9}) == [], "second triggers alone open nothing"
    assert arrays.opened({3, 9}) == [split]
    assert arrays.opened({3, 5, 9, 4, 1}) == [split, split, split]
    assert arrays.opened({3, 5, 10_000}) == [split], "triggers numbered later are ignored"


def test_a_long_or_of_phrases_is_indexed_branch_by_branch() -> None:
    """Past ``MAX_ALTERNATIVES`` ways, an OR keeps one way per branch: a word that only
    appears inside one of its phrases does not make the rule a candidate."""
    phrases = " OR ".join(f'"zeta{i} omega{i}"' for i in range(20))
    ruleset = RuleSet.from_config([RuleConfig(name="long", query=phrases)])
    assert len(ruleset.rules[0].node.alternatives()) == 20
    doc = Document.of(article("zeta3 news", "omega7 today"))
    present = ruleset._scanner.scan(doc.scan())
    assert ruleset._rule_index.candidates(present) == []
    assert [m.rule for m in ruleset.match(article("zeta3 omega3", ""))] == ["long"]


def test_a_way_with_two_broad_groups_is_filed_under_its_first_group_alone() -> None:
    """Past ``MAX_PAIRS`` pairs of triggers, a way is filed under each trigger of its most
    selective group, and its other groups are checked when it is looked up."""
    either = " OR ".join(f"alpha{i}" for i in range(5))
    other = " OR ".join(f"beta{i}" for i in range(5))
    ruleset = RuleSet.from_config([RuleConfig(name="broad", query=f"({either}) AND ({other})")])
    assert ruleset._rule_index.loose, "ten triggers a side make 100 pairs: too broad to pair"
    assert [m.rule for m in ruleset.match(article("alpha3 news", "beta4 today"))] == ["broad"]
    assert [m.rule for m in ruleset.match(article("", "beta0 and alpha0"))] == ["broad"]
    assert ruleset.match(article("alpha3 news", "nothing else")) == []
    assert ruleset.match(article("", "beta1 alone")) == []


def test_proximity_finds_any_window_holding_all_words() -> None:
    """Issue 11: the window was built around the first word's nearest neighbours, so a
    nearer-but-wrong occurrence of one word hid a valid window using a farther one."""
    assert hits('"export chip china"~5', text="china chip a b c export")
    assert hits('"export chip china"~4', text="chip sales export to the China chip market")
    assert hits('"china chip export"~4', text="chip sales export to the China chip market")
    assert not hits('"export chip china"~3', text="chip sales export to the China chip market")
    assert not hits('"export chip china"~4', text="china chip a b c d export")


def test_proximity_window_is_first_to_last_word() -> None:
    assert hits('"a b c"~2', text="c a b")
    assert hits('"a b c"~1', text="c a b"), "never narrower than the words themselves"
    assert not hits('"a b c"~2', text="c a x b")
    assert hits('"chip chip"~3', text="chip x x chip")
    assert not hits('"chip chip"~3', text="chip x x x chip"), "a repeated word needs two"
    assert not hits('"chip chip"~3', text="one chip only")


def test_symbols_in_phrases_are_words_not_dropped() -> None:
    """Issue 11: ``"% of revenue"`` compiled to ``"of revenue"``."""
    assert hits('"% of revenue"', text="a 25% of revenue cut")
    assert not hits('"% of revenue"', text="25 of revenue")
    assert hits('"R&D"', text="R&D spending") and not hits('"R&D"', text="R D")
    assert hits('"$ 5bn"', text="a $5bn deal") and not hits('"$ 5bn"', text="a 5bn deal")
    assert hits('"25 % cut"', text="Get 25% Cut")


def test_unsearchable_symbols_are_rejected() -> None:
    with pytest.raises(QuerySyntaxError, match="contains '©', which cannot be searched"):
        compile_query('"© chips"')
    rules = [RuleConfig(name="sym", query='"chips ®"')]
    with pytest.raises(RuleError, match=r"rules\[0\] \(sym\): query: .*'®'"):
        RuleSet.from_config(rules, "rules.yaml")


def test_indexed_matching_keeps_fields_apart() -> None:
    """The scan marks each field's words apart: a phrase never spans title and text, and
    a field-restricted term is looked for only in its field."""
    ruleset = RuleSet.from_config(
        [
            RuleConfig(name="phrase", query='"export control"'),
            RuleConfig(name="title", query="title:licen* AND chips"),
            RuleConfig(name="caps", query='"H20 chips" OR "BIS rule*"'),
        ]
    )
    assert ruleset.match(article("New export", "control rules")) == []
    assert [m.rule for m in ruleset.match(article("export control", ""))] == ["phrase"]
    assert ruleset.match(article("chips", "licences")) == []
    assert [m.rule for m in ruleset.match(article("Licences", "chips"))] == ["title"]
    assert ruleset.match(article("", "h20 chips and bis rules")) == []
    assert [m.rule for m in ruleset.match(article("", "H20 chips"))] == ["caps"]
    assert [m.rule for m in ruleset.match(article("", "BIS rules"))] == ["caps"]
