"""Matching speed with the knowledge base: ``bench/match.py``'s workload (1,000 articles
of about 800 words, the shipped rules and a 1,000-rule set) without the list and with
30,000 synthetic listed parties (about 75,000 aliases: company names with legal forms,
acronyms, Chinese-script names). Prints articles/s, the slowdown, the time to build the
name index and its memory, and the precision/recall on the labelled sentences of
tests/data/kb.

Run: ``python bench/kb_match.py`` (one process, one core).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.match import article_texts, generated_rules, mid_frequency_words  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.kb.eccn import EccnTable  # noqa: E402
from pipeline.kb.formats import Party, parse_list_file  # noqa: E402
from pipeline.kb.knowledge import KnowledgeBase  # noqa: E402
from pipeline.kb.names import NameIndex  # noqa: E402
from pipeline.match import Document, RuleSet  # noqa: E402
from pipeline.types import Article  # noqa: E402

PARTIES = 30_000
ROUNDS = 3
SYLLABLES = [
    "zhong",
    "hua",
    "xin",
    "tian",
    "long",
    "kang",
    "rui",
    "tong",
    "jia",
    "hai",
    "yuan",
    "sheng",
    "feng",
    "bo",
    "xun",
    "chuang",
    "hong",
    "jin",
    "yu",
    "an",
    "da",
    "wei",
    "ming",
    "hui",
    "cheng",
    "guang",
    "kai",
    "ling",
    "rong",
    "sen",
    "tai",
    "xiang",
    "yang",
    "zhi",
]
GENERIC = [
    "Technology",
    "Electronics",
    "Trading",
    "Industrial",
    "Semiconductor",
    "Optics",
    "Systems",
]
LEGAL = ("Co., Ltd.", "Limited", "LLC", "GmbH", "JSC", "FZE", "Inc.")
PLACES = ("Shenzhen", "Shanghai", "Beijing", "Hong Kong", "Moscow", "Dubai", "Tehran")
HAN = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
SOURCES = (
    "Entity List (EL) - Bureau of Industry and Security",
    "Specially Designated Nationals (SDN) - Treasury Department",
    "Military End User (MEU) List - Bureau of Industry and Security",
)


def synthetic_parties(count: int, rng: random.Random) -> list[Party]:
    parties = []
    for number in range(count):
        core = "".join(rng.sample(SYLLABLES, rng.choice((2, 3)))).capitalize()
        name = f"{rng.choice(PLACES)} {core} {rng.choice(GENERIC)} {rng.choice(LEGAL)}"
        aliases = [core] if number % 3 else []
        if number % 4 == 0:
            aliases.append("".join(w[0] for w in name.split()[:4]).upper())
        if number % 5 == 0:
            aliases.append("".join(rng.choices(HAN, k=rng.choice((3, 4, 6)))))
        parties.append(
            Party(
                source=SOURCES[number % len(SOURCES)],
                name=name,
                alt_names=tuple(aliases),
                countries=("CN",),
                federal_register_notice=f"{80 + number % 10} FR {1000 + number}",
                start_date="2024-01-01",
            )
        )
    return parties


def resident_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def rate(ruleset: RuleSet, articles: list[Article]) -> float:
    started = time.perf_counter()
    for article in articles:
        ruleset.analyse(article)
    return len(articles) / (time.perf_counter() - started)


def main() -> None:
    config = load_config(ROOT / "config")
    texts = article_texts()
    articles = [
        Article(url=f"https://x.example/{i}", title=" ".join(t.split()[:12]), text=t, source="b")
        for i, t in enumerate(texts)
    ]
    rng = random.Random(7)
    parties = synthetic_parties(PARTIES, rng)
    before = resident_mib()
    started = time.perf_counter()
    knowledge = KnowledgeBase.build(parties, EccnTable.load(ROOT / "config"))
    build_s = time.perf_counter() - started
    print(
        f"name index: {len(parties)} parties, {knowledge.names.alias_count} aliases, "
        f"built in {build_s:.2f}s, +{resident_mib() - before:.0f} MiB resident"
    )
    docs = [Document.of(article) for article in articles]
    started = time.perf_counter()
    for doc in docs:
        knowledge.annotate(doc)
    per_article = (time.perf_counter() - started) / len(docs) * 1000
    print(f"finding names and ECCNs: {per_article:.2f} ms per article")
    vocabulary = mid_frequency_words(texts)
    base = list(config.rules.rules)
    for total in (len(base), 1_000):  # the shipped rules, and a large rule set
        rules = base + generated_rules(total - len(base), vocabulary, random.Random(42))
        plain = RuleSet.from_config(rules, "bench", config.entities.entities)
        listed = RuleSet.from_config(rules, "bench", config.entities.entities, knowledge)
        rate(plain, articles[:50])  # warm up
        # best of three, interleaved: the machine is shared, and noise only slows a run
        runs = [(rate(plain, articles), rate(listed, articles)) for _ in range(ROUNDS)]
        without, with_list = max(r[0] for r in runs), max(r[1] for r in runs)
        print(
            f"{total:>6} rules: {without:7.1f} articles/s without the list, {with_list:7.1f} "
            f"with {len(parties)} names ({without / with_list:.2f}x the time)"
        )
    labelled()


def labelled() -> None:
    import yaml

    from pipeline.config import EntityConfig
    from pipeline.kb.service import curated_aliases

    data = ROOT / "tests" / "data" / "kb"
    parties = parse_list_file((data / "csl.json").read_bytes(), "csl.json")
    items = yaml.safe_load((data / "sentences.yaml").read_text())
    curated = [EntityConfig(id="j", name="j", type="company", aliases=["JHICC", "Fujian Jinhua"])]
    for label, extra in (("lists only", None), ("with curated aliases", curated)):
        index = NameIndex(parties, curated_aliases(parties, extra) if extra else None)
        tp = fp = fn = 0
        for item in items["positives"] + items["near_misses"]:
            doc = Document.of(Article(url="", title="", text=item["text"], source=""))
            names = {hit.party.name for hit in index.find(doc)}
            if item["party"]:
                tp += item["party"] in names
                fn += item["party"] not in names
            fp += len(names - {item["party"]})
        total = len(items["positives"]) + len(items["near_misses"])
        print(
            f"labelled sentences ({total}, {label}): precision {tp / (tp + fp):.3f}, "
            f"recall {tp / (tp + fn):.3f} ({tp} found, {fp} wrong, {fn} missed)"
        )


if __name__ == "__main__":
    main()
