from pipeline.dedupe import canonical_url, normalise_text, text_hash

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
