"""Unit tests for flows.understand: normalisation, priorities, negation, typos, numbers, data."""

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understand import (
    INTENTS,
    LEXICON_FILES,
    QUESTIONS,
    LexiconError,
    Understanding,
    load_lexicons,
    normalize,
    understand,
)
from flows.understand.lexicon import Lexicons

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "flows" / "understand"
TEXTS = {name: (ROOT / "flows" / "lexicons" / name).read_text("utf-8") for name in LEXICON_FILES}
LEX = load_lexicons(TEXTS)


def ask(
    text: str, question: str = "any", lang: str | None = None, choices: tuple[str, ...] = ()
) -> Understanding:
    return understand(text, lexicons=LEX, question=question, lang=lang, choices=choices)


def intent(text: str, question: str = "any", lang: str | None = None) -> str:
    return ask(text, question, lang).intent


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("OUI !", "oui"),
        ("Déjà vu, ça", "deja vu ca"),
        ("Déédéét ñett ŋ", "deedeet nett ng"),
        ("نَعَمْ", "نعم"),  # tashkeel
        ("نعــــــم", "نعم"),  # tatweel
        ("أنا إلى آخر ٱلكتاب", "انا الي اخر الكتاب"),  # alef variants, alef maqsura
        ("مؤتمر شئ", "موتمر شي"),  # hamza on waw and yeh
        ("واخة", "واخه"),  # teh marbuta
        ("ﻻ", "لا"),  # the lam-alef ligature, through NFKC
        ("٣ ۴ ３ ③", "3 4 3 3"),  # Arabic-Indic, Persian, fullwidth, circled digits
        ("3\ufe0f\u20e3", "3"),  # keycap
        ("\u200fنعم\u200e\u061c\u200b\ufeff\u2066", "نعم"),  # bidi marks, zero-width, BOM
        ("oui\u200dnon", "ouinon"),  # a stray ZWJ joins nothing
        ("نعم ، لا؟ «oui»", "نعم لا oui"),  # Arabic and French punctuation
        ("j'y serai", "j y serai"),
        ("peut-être", "peut etre"),
        ("ouiiiiii", "ouii"),  # runs of 3+ letters kept at 2; matching then tries 1
        ("waaaaw", "waaw"),
        ("لاااا", "لاا"),
        ("n3am la2 wa7ed rb3a 5amsa", "n3am la2 wa7ed rb3a 5amsa"),  # Arabizi digits stay letters
        ("4/5 et/ou ٤ / ٥", "4/5 et ou 4/5"),  # "/" is kept between digits only
        ("👍🏽👍", "👍 👍"),  # skin tone dropped, each emoji a token
        ("🙅\u200d\u2642\ufe0f", "🙅"),  # ZWJ sequence: the base emoji
        ("❤️ merci", "❤ merci"),
        ("   ", ""),
    ],
)
def test_normalize(raw: str, folded: str) -> None:
    assert normalize(raw) == folded


def test_stretched_letters_match_with_one_or_two() -> None:
    assert intent("ouiiiii") == "yes"
    assert intent("waaaaaw", lang="wo") == "yes"  # "waaw"
    assert intent("nooooon") == "no"
    assert intent("لااااا") == "no"
    assert intent("noon") == "unknown"  # a real double letter is not stretching


# ---------------------------------------------------------------- priority rules


def test_distress_beats_everything() -> None:
    assert intent("oui mais je veux mourir", "attendance") == "distress"
    assert intent("1, je veux plus vivre", "wellbeing") == "distress"
    assert intent("STOP je veux mourir") == "distress"
    assert intent("aide moi je veux me tuer") == "distress"
    assert intent("je ne veux pas mourir") == "distress"  # negated distress still escalates
    assert intent("dama bëgg mourir", lang="wo") == "distress"  # French phrase in Wolof
    assert intent("je veus mourrir") == "distress"  # typos


def test_stop_only_when_the_message_is_the_command() -> None:
    for text in [
        "stop",
        "STOP",
        "Stop svp",
        "stop merci",
        "arrêt",
        "unsubscribe",
        "وقف",
        "bayyi",
        "noppil",
        "non merci, stop",
        "7bs 3afak",
    ]:
        assert intent(text) == "stop", text
    for text in [
        "non merci",
        "je veux pas arrêter l'atelier",
        "arrête pas",
        "bul bayyi",
        "j'ai arrêté de fumer",
        "le bus s'arrête loin",
        "je travaille non-stop",
        "baraka",
        "stopper",
        "autostop",
        "لا تتوقفوا",
    ]:
        assert intent(text) != "stop", text
    assert intent("non merci") == "no"


def test_start_help_then_answer() -> None:
    assert intent("START") == "start"
    assert intent("je veux reprendre les messages") == "start"
    assert intent("oui mais j'ai besoin d'aide pour le transport", "attendance") == "help"
    assert intent("stop aide") == "help"  # not essentially stop, so help wins
    assert intent("pas besoin d'aide, je viens", "attendance") == "yes"
    assert intent("je suis aide-soignante") == "unknown"


# ---------------------------------------------------------------- answers and negation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pas oui", "no"),
        ("machi daba", "no"),
        ("ماشي دابا", "no"),
        ("machi wakha", "no"),
        ("موش باهي", "no"),
        ("pas de problème", "yes"),
        ("ماشي مشكل", "yes"),
        ("لا مانع", "yes"),
        ("pas sûr", "maybe"),
        ("pas non", "unknown"),  # a negated no says nothing
        ("oui non", "unknown"),  # a contradiction: ask again
        ("oui... non en fait", "no"),  # a correction: the last answer wins
        ("non finalement oui", "yes"),
        ("oui mais je peux pas venir", "no"),
        ("oui inchallah", "yes"),
        ("inchallah", "maybe"),
        ("oui peut-être", "maybe"),
    ],
)
def test_answers(text: str, expected: str) -> None:
    assert intent(text, "attendance") == expected


def test_whole_words_only() -> None:
    for text in ["nonchalant", "noon", "passer", "سلام", "لاباس", "ouistiti", "nonnes"]:
        assert intent(text, "attendance") == "unknown", text


def test_words_of_another_language_count_only_alone() -> None:
    assert intent("la") == "no"
    assert intent("la chokran") == "no"
    assert intent("je serai là", "attendance") == "yes"
    assert intent("la semaine prochaine", "attendance") == "unknown"
    assert intent("wow", lang="wo") == "yes"
    assert intent("wow") == "unknown"  # an exclamation in French
    assert intent("safi") == intent("ah") == intent("ndax") == intent("🙏") == "unknown"


def test_typos() -> None:
    assert ask("daccors").intent == "yes"
    assert ask("daccors").confidence < ask("daccord").confidence
    assert intent("disponnible") == "yes"
    assert intent("impossble") == "no"
    assert intent("nom") == "unknown"  # short words get no typo tolerance
    assert intent("stip") == "unknown"  # commands never match with a typo
    assert intent("فين غادي تكون الورشة", "attendance") == "unknown"  # not "غادي نكون"


def _yes_words(lex: Lexicons, kind: str) -> list[str]:
    return sorted(
        {
            p.words[0]
            for table in lex.phrases.values()
            for group in table.values()
            for p in group
            if p.kind == kind and len(p.words) == 1 and len(p.words[0]) >= 4
        }
    )


def _one_edits(word: str) -> set[str]:
    letters = set(word) | set("aeiouns")
    edits = {word[:i] + word[i + 1 :] for i in range(len(word))}
    edits |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    edits |= {word[:i] + c + word[i + 1 :] for i in range(len(word)) for c in letters}
    edits |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in letters}
    return edits


@pytest.mark.parametrize(("kind", "opposite"), [("yes", "no"), ("no", "yes")])
def test_a_typo_never_flips_yes_and_no(kind: str, opposite: str) -> None:
    for word in _yes_words(LEX, kind):
        for typo in _one_edits(word):
            assert intent(typo, "yesno") != opposite, (word, typo)


def test_low_confidence_is_unknown() -> None:
    # One misspelt word in a long message of unknown words: below the threshold.
    assert intent("daccors kestion bizar truc machin bidule chose") == "unknown"
    assert ask("oui").confidence >= 0.9


# ---------------------------------------------------------------- numbers and choices


@pytest.mark.parametrize(
    ("text", "lang", "score"),
    [
        ("3", None, 3),
        ("٤", None, 4),
        ("۵", None, 5),
        ("2️⃣", None, 2),
        ("4/5", None, 4),
        ("٤/٥", None, 4),
        ("4 sur 5", None, 4),
        ("je dirais 2", None, 2),
        ("trois", "fr", 3),
        ("une", "fr", 1),
        ("ثلاثة", "ar", 3),
        ("جوج", "ar", 2),
        ("زوز", "ar", 2),
        ("أربعة", "ar", 4),
        ("خمسة", "ar", 5),
        ("wa7ed", "ar", 1),
        ("jouj", "ar", 2),
        ("tlata", "ar", 3),
        ("rb3a", "ar", 4),
        ("khamsa", "ar", 5),
        ("benn", "wo", 1),
        ("ñaar", "wo", 2),
        ("ñett", "wo", 3),
        ("ñeent", "wo", 4),
        ("juróom", "wo", 5),
        ("bof, 2", None, 2),
    ],
)
def test_scores(text: str, lang: str | None, score: int) -> None:
    assert ask(text, "wellbeing", lang) == Understanding("score", score, 0.95)


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "6",
        "10",
        "8/10",
        "juróom benn",
        "fukk",
        "3 ou 4",
        "2 jours",
        "le 3 décembre",
        "à 14h30",
        "ça va",
        "labas",
        "mangi fi rekk",
        "الحمد لله",
        "خمسة وخميس",
        "n3am",
    ],
)
def test_not_scores(text: str) -> None:
    assert ask(text, "wellbeing").intent == "unknown"


def test_numbers_need_a_scale_question() -> None:
    assert intent("3", "attendance") == "unknown"
    assert intent("3", "rating") == intent("3", "any") == "score"


def test_numbered_choices() -> None:
    choices = ("yes", "no", "help")
    assert ask("2", "attendance", choices=choices) == Understanding("no", None, 1.0)
    assert ask("٣", "attendance", choices=choices).intent == "help"
    assert ask("deux", "attendance", choices=choices).intent == "no"
    assert ask("le 1", "attendance", choices=choices).intent == "yes"
    assert ask("4", "attendance", choices=choices).intent == "unknown"
    assert ask("oui", "attendance", choices=choices).intent == "yes"


def test_feelings_never_score_and_answers_follow_the_question() -> None:
    assert intent("très bien", "wellbeing") == "unknown"
    assert intent("oui", "wellbeing") == "unknown"
    assert intent("merci") == intent("bonjour") == intent("jërëjëf") == "unknown"


def test_language_requests() -> None:
    assert ask("en arabe svp") == Understanding("language", None, 0.95, "ar")
    assert ask("العربية").language == "ar"
    assert ask("3arbiya").language == "ar"
    assert ask("ci wolof").language == "wo"
    assert ask("oui, en français", "attendance").language == "fr"
    assert intent("je suis allé au cours de français") == "unknown"
    assert intent("je parle pas français") == "unknown"


def test_bad_arguments_fail_at_once() -> None:
    with pytest.raises(ValueError, match="question"):
        ask("oui", question="weather")
    with pytest.raises(ValueError, match="lang"):
        ask("oui", lang="en")
    with pytest.raises(ValueError, match="choices"):
        ask("1", choices=("score",))


# ---------------------------------------------------------------- lexicon data

BASE = 'language: "fr"\nvarieties:\n  fr:\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('    "yess": ["oui"]\n', "bad.yaml: fr: unknown intent 'yess'"),
        ('    yes: ["oui"]\n', "bad.yaml: fr: group True must be quoted"),
        ('    "no": [no]\n', r"bad.yaml: fr.no\[0\]: phrase False is not a string"),
        ('    "yes": ["oui", 12]\n', r"bad.yaml: fr.yes\[1\]: phrase 12 is not a string"),
        (
            '    "yes": ["ok"]\n    "no": ["OK"]\n',
            r"bad.yaml: fr.no\[0\]: 'ok' is already listed "
            r"as yes at bad.yaml: fr.yes\[0\]",
        ),
        ('    "yes": "oui"\n', "bad.yaml: fr.yes: expected a list"),
        ('    language: {en: ["english"]}\n', "bad.yaml: fr.language: unknown language 'en'"),
        ('    numbers: {12: ["douze"]}\n', "bad.yaml: fr.numbers: number 12"),
        ('    "yes": ["veux * venir"]\n', r"bad.yaml: fr.yes\[0\].*only allowed in distress"),
        ('    "yes": ["?!"]\n', r"bad.yaml: fr.yes\[0\]: phrase '\?!' is empty"),
    ],
)
def test_bad_lexicon_data_names_file_and_entry(body: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        load_lexicons({"bad.yaml": BASE + body})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("language: [", "bad.yaml: not valid YAML"),
        ("- oui\n", "bad.yaml: expected exactly the keys"),
        ('language: "fr"\nvarieties: {}\n', "bad.yaml: 'varieties' must map"),
    ],
)
def test_bad_lexicon_files(text: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        load_lexicons({"bad.yaml": text})


def test_same_phrase_same_meaning_across_varieties_is_fine() -> None:
    text = 'language: "ar"\nvarieties:\n  msa: {"no": ["لا"]}\n  ary: {"no": ["لا"]}\n'
    assert understand("لا", lexicons=load_lexicons({"ar.yaml": text})).intent == "no"


def test_the_package_does_no_io() -> None:
    banned = {"os", "io", "pathlib", "time", "datetime", "random", "socket", "open"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        names |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not (names | calls) & banned, path.name


# ---------------------------------------------------------------- properties


@given(
    text=st.text(),
    question=st.sampled_from(QUESTIONS),
    lang=st.sampled_from([None, "fr", "ar", "wo"]),
)
def test_any_text_is_understood_safely(text: str, question: str, lang: str | None) -> None:
    got = understand(text, lexicons=LEX, question=question, lang=lang)
    assert got.intent in INTENTS
    assert 0.0 <= got.confidence <= 1.0
    assert (got.score is not None) == (got.intent == "score")
    assert got.score is None or 1 <= got.score <= 5
    assert (got.language is not None) == (got.intent == "language")


REPLY_WORDS = [
    "oui",
    "non",
    "stop",
    "3",
    "٣",
    "4/5",
    "la",
    "لا",
    "ما",
    "pas",
    "👍🏽",
    "veux",
    "mourir",
]


@given(st.lists(st.sampled_from(REPLY_WORDS), max_size=8).map(" ".join))
def test_reply_like_text_is_understood_safely(text: str) -> None:
    got = understand(text, lexicons=LEX, question="wellbeing", choices=("yes", "no"))
    assert got.intent in INTENTS
    assert 0.0 <= got.confidence <= 1.0
