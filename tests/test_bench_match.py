"""``bench/match.py`` runs where the team corpora are absent (it then makes up its text)."""

import random

from bench import match


def test_the_match_bench_makes_rules_from_its_own_text_without_the_corpus(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(match, "CORPORA", tmp_path / "absent")
    monkeypatch.setattr(match, "ARTICLES", 20)
    texts = match.article_texts()
    assert len(texts) == 20
    vocabulary = match.mid_frequency_words(texts)
    rules = match.generated_rules(50, vocabulary, random.Random(1))
    assert len({rule.query for rule in rules}) == 50


def test_the_calibration_says_when_the_texts_hold_fewer_terms_than_asked(capsys) -> None:
    match.calibration(["chips and more chips", "export rules for chips"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("terms:")[0].split()[-1] for line in lines] == ["30", "30000"]
    assert all("(only " in line for line in lines), lines
