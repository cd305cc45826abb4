"""Word lists for name matching: legal forms, the stop-list, context and country words.

All entries are case-folded. They are data, kept apart so that they can grow without
touching the matching code.
"""

from __future__ import annotations


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


LEGAL_FORMS = _word_set(
    """
    co ltd llc inc corp corporation company limited plc gmbh ag sa sas sarl srl spa bv nv
    kg ohg ab as oy oyj aps jsc ojsc cjsc pjsc oao ooo zao pao ao llp lp pte pvt pty bhd
    sdn kk kft zrt sp zoo fze fzco fzc fzllc fz dmcc est wll ltda cia sl slu se
    """
)

NEVER_ALONE = _word_set(
    """
    ai it us usa uk eu un ceo cfo cto ip pc tv id ok no go new co ltd inc group company
    china russia iran the list entity bis ofac ear chip chips
    """
)
"""Names (after legal forms are removed) that are never a match on their own."""

COMMON_WORDS = _word_set(
    """
    a about above academy access advanced aerospace agency air alliance alpha america
    american analysis apex apple applied art asia asian atlas automation aviation bank
    best beta big black blue bridge bright business capital center central centre chemical
    chemicals city cloud commercial communication communications components computer
    computing construction consulting control core crystal data defense defence design
    development devices digital dragon dynamic dynamics east eastern eagle electric
    electrical electronic electronics elite energy engineering enterprise enterprises
    equipment era euro express far fine first focus forward frontier fortune future
    galaxy general global gold golden grand great green group harbor harbour harmony
    heavy high holding holdings honest horizon import industrial industries industry
    information infinity innovation institute instrument instruments integrated
    intelligence intelligent international investment joint key king laboratory lab labs
    land laser leader light line link logistics machinery machine management marine
    market materials media medical metal micro microelectronics mobile modern mountain
    national net network networks new north northern nova nuclear ocean office optical
    optics orient oriental pacific peace phoenix pioneer pixel planet power precision
    prime pro progress quantum radio rainbow rapid research resources rising river
    robotics rock royal science sciences scientific security semiconductor semiconductors
    service services shipping silicon silk sky smart software solar solutions south
    southern space special star state steel summit sun supply support system systems
    target team tech techno technical technologies technology telecom
    telecommunications the tiger times top total tower trade trading transport union
    united unity universal university valley vision wave west western wide wing wisdom
    world xin zone
    """
)
"""Words that make an ordinary name: one of them alone, or two together, is weak."""

CONTEXT_WORDS = _word_set(
    """
    entity blacklist blacklisted blacklisting sanction sanctions sanctioned sanctioning
    designated designation designations listed listing delisted ofac bis embargo
    unverified denied restricted
    """
)
"""Words that confirm a weak name nearby: the text is about lists and sanctions."""

PLACE_NOUNS = _word_set(
    """
    road street avenue lane river lake mountain city province district county village
    town park station airport bridge square
    """
)
"""A one-word name followed by one of these is a place ("Haiguang Road"), not the party."""

CJK_CONTEXT_WORDS = ("实体清单", "制裁", "出口管制", "黑名单", "商务部", "中国", "美国")
"""The same for text in Chinese script: entity list, sanctions, export control, blacklist,
Ministry/Department of Commerce, China, United States."""

COUNTRY_WORDS: dict[str, tuple[str, ...]] = {
    "CN": ("china", "chinese", "beijing", "shanghai", "shenzhen", "prc", "hangzhou", "wuhan"),
    "HK": ("hong", "kong"),
    "RU": ("russia", "russian", "moscow", "petersburg"),
    "IR": ("iran", "iranian", "tehran"),
    "KP": ("north", "korea", "korean", "pyongyang"),
    "BY": ("belarus", "belarusian", "minsk"),
    "SY": ("syria", "syrian", "damascus"),
    "AE": ("uae", "emirates", "dubai", "emirati"),
    "TR": ("turkey", "turkish", "türkiye", "istanbul"),
    "PK": ("pakistan", "pakistani", "karachi"),
    "SG": ("singapore", "singaporean"),
    "TW": ("taiwan", "taiwanese", "taipei"),
    "MY": ("malaysia", "malaysian"),
    "IN": ("india", "indian"),
    "MM": ("myanmar", "burma", "burmese"),
    "VE": ("venezuela", "venezuelan"),
    "CU": ("cuba", "cuban"),
    "KZ": ("kazakhstan",),
    "AM": ("armenia", "armenian"),
    "UZ": ("uzbekistan",),
    "KG": ("kyrgyzstan",),
}
"""ISO country code (as the lists give it) -> words that name the country in text."""
