from pipeline.dedupe import (
    canonical_url,
    clean_title,
    fingerprint,
    normalise_text,
    same_story,
    text_hash,
    url_variants,
)

BASE = "https://news.example.com/2026/11/chips-story"


def test_tracking_parameters_and_fragment_are_dropped() -> None:
    noisy = (
        "https://News.Example.com/2026/11/chips-story?utm_source=rss&utm_medium=feed"
        "&fbclid=abc&gclid=x&mc_cid=1&ocid=2#comments"
    )
    assert canonical_url(noisy) == BASE


def test_default_port_and_trailing_slash_collapse() -> None:
    assert canonical_url("https://news.example.com:443/2026/11/chips-story/") == BASE
    assert canonical_url("http://news.example.com:80/a") == "http://news.example.com/a"


def test_meaningful_query_is_kept_and_sorted() -> None:
    assert (
        canonical_url("https://x.example/p?b=2&a=1&utm_campaign=z") == "https://x.example/p?a=1&b=2"
    )


def test_different_articles_on_one_site_stay_different() -> None:
    assert canonical_url("https://x.example/story?id=1") != canonical_url(
        "https://x.example/story?id=2"
    )
    assert canonical_url("https://x.example/a/one") != canonical_url("https://x.example/a/two")


def test_non_default_port_is_kept() -> None:
    assert canonical_url("http://127.0.0.1:8080/feed") == "http://127.0.0.1:8080/feed"


def test_garbage_is_returned_stripped() -> None:
    assert canonical_url("  not a url ") == "not a url"
    assert canonical_url("replay:42") == "replay:42"


def test_text_hash_ignores_whitespace_quotes_and_dashes() -> None:
    body = " ".join(["word"] * 50)
    a = text_hash("T", f"“Export” controls — {body}")
    b = text_hash("Other title", f'"export"  controls - {body}')
    assert a == b


def test_short_teasers_are_hashed_with_their_title() -> None:
    assert text_hash("Story one", "Read more.") != text_hash("Story two", "Read more.")


def test_normalise_text_folds_case_and_punctuation() -> None:
    assert normalise_text("Nvidia’s H20—Chips!") == "nvidia s h20 chips"


def test_amp_and_mobile_forms_are_variants_of_the_canonical_url() -> None:
    canonical = "https://news.example.com/2026/11/chips-story"
    for variant in (
        "https://news.example.com/2026/11/chips-story/amp",
        "https://news.example.com/2026/11/chips-story/amp/?utm_source=x",
        "https://news.example.com/2026/11/chips-story?amp=1",
        "https://news.example.com/amp/2026/11/chips-story",
        "https://news.example.com/2026/11/chips-story.amp.html",
    ):
        assert canonical in url_variants(variant), variant
    assert "https://example.com/story" in url_variants("https://m.example.com/story")
    assert "https://www.example.com/story" in url_variants("https://mobile.example.com/story")
    assert "https://example.com/story" in url_variants("https://amp.example.com/story")


def test_variants_keep_meaningful_differences() -> None:
    assert all("id=2" in v for v in url_variants("https://m.example.com/story?id=2"))
    assert url_variants("https://example.com/a") == []
    assert url_variants("replay:1") == []


def test_wire_prefixes_are_removed_from_titles() -> None:
    assert clean_title("UPDATE 2-Nvidia to resume sales") == "Nvidia to resume sales"
    assert clean_title("EXCLUSIVE-REFILE-Chip curbs widen") == "Chip curbs widen"
    assert clean_title("Update on chips") == "Update on chips"


SYNDICATED = (
    "The Dutch government said it will require export licences for more of ASML's deep "
    "ultraviolet lithography machines, extending controls that already cover its most "
    "advanced tools. The trade ministry said the measure closes a gap that allowed older "
    "immersion systems to be shipped to Chinese chipmakers without review."
)


def test_copies_and_updates_are_the_same_story_and_different_events_are_not() -> None:
    base = fingerprint("Netherlands requires licences for more ASML machines", SYNDICATED)
    copy = fingerprint(
        "Dutch widen chip tool curbs", SYNDICATED.replace("The Dutch government", "The Netherlands")
    )
    update = fingerprint(
        "UPDATE 1-Netherlands requires licences",
        SYNDICATED
        + " China said it was dissatisfied and urged the Netherlands to respect market principles.",
    )
    other = fingerprint(
        "ASML orders rise",
        "ASML said quarterly orders for its lithography machines rose as chipmakers expanded "
        "capacity, while sales of deep ultraviolet machines to Chinese chipmakers declined.",
    )
    assert same_story(base, copy)[0] and same_story(base, update)[0]
    assert not same_story(base, other)[0]


def test_fingerprints_are_stable_across_processes() -> None:
    import subprocess
    import sys

    code = "from pipeline.dedupe import fingerprint; print(fingerprint('t', 'some text here ok').bands)"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert outputs == {str(fingerprint("t", "some text here ok").bands) + "\n"}
