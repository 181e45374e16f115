"""Context rules of the default classifier, applied to VADER's token valences.

Each rule reads the whole message, then changes the valence of single tokens.
They need no vaderSentiment import: inputs are the tokens, their lower-cased
forms and their valences (a list changed in place). Why each exists:

names          a capitalised word inside a run of capitalised words, not opening a
               sentence, is part of a name (a title, team, event, place), which
               denotes and does not judge: "The Walking Dead", "Super Eagles",
               "Good Friday Agreement", "Foo Fighters" count 0. The greeting formulas
               "Happy Birthday", "Merry Christmas", "Thank You" are not names.
hedges         after an epistemic modal ("may", "might") the rest of the clause is a
               possibility, not an assertion: its sentiment words count half ("the
               nurse may have been sick", "they may lose"). Not at a sentence start
               ("May God bless you" is a wish) and not the month ("on May 11").
like_verb      "like" counts only as a verb after a subject ("I like"), not in
               "looks like" or "like 3 hours" (VADER scores every "like" +1.5).
sarcasm        a positive cue (great, love, awesome...) in a message that reports a
               service failure is flipped: "great job, 3 hours on hold". "thanks" is
               flipped only when the failure is the thing thanked for ("thanks for
               the 3 hour delay"); a plain "thanks" in a complaint is courtesy.
laughter       laughter (\U0001F602, \U0001F923) beside a reported service failure counts 0: the
               customer laughs at the failure, exasperated or ironic ("my order is 3 weeks
               late \U0001F602"); it is no joy about the brand.
courtesy       thanks/appreciate/cheers count 0 in a request (a question or "please
               help") and in a complaint: they are formulaic there, not praise.
neg_dominance  when a service failure is reported, the other positive words count
               half: "friendly crew, comfy seats, and my bag is lost" is a complaint.
questions      a message made only of questions is mostly a request for information:
               its valence is halved, unless it is a "why" challenge or has "!".

A contrast word (but, however, though, ...) between a positive word and every
failure spares the positive word from sarcasm, laughter, courtesy and neg_dominance:
"delayed 2 hours but the crew was amazing, thank you!" stays positive.
A *service failure* is a customer-service lexicon token of valence <= -1.0 that
still counts negative after negation ("not delayed" is no failure), and that no
remedy puts right in its sentence (rule "remedies": "fixed", "restored",
"refunded", "turned up", ... not negated, asked about or in quotes): "wow, the
outage was fixed in 10 minutes, great support" praises the recovery.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property

RULES = ("names", "hedges", "like_verb", "remedies", "sarcasm", "laughter", "courtesy", "neg_dominance", "questions")

DOMINANCE = 0.5  # neg_dominance: factor for positive words beside a failure
FLIP = -0.74  # sarcasm: VADER's own negation factor
HEDGE = 0.5  # hedges: factor for sentiment words in a clause after "may"/"might"
HEDGES = frozenset({"may", "might"})
QUESTION_DAMPING = 0.5  # questions: factor for a question-only message
# Words after which "like" is a verb ("I like", "really like", "don't like").
LIKE_SUBJECTS = frozenset({
    "i", "we", "you", "u", "they", "ya", "really", "totally", "also", "still", "actually", "just",
    "do", "don't", "dont", "didn't", "didnt", "doesn't", "doesnt", "would", "wouldn't", "i'd",
    "we'd", "you'd", "they'd", "people", "everyone", "everybody", "definitely", "truly", "kinda",
    "even", "who", "ppl",
})
# A word after one of these opens a sentence (or an address: "@acme Thank You"):
# capitalised there for grammar, not because it names something.
SENTENCE_OPENERS = frozenset(".!?:;\"-")
CLAUSE_END = frozenset(".!?,;:")
# Greeting formulas: "Happy Birthday", "Merry Christmas" wish something, "Thank You" thanks.
GREETINGS = frozenset({"happy", "merry", "thank", "thanks", "congratulations", "congrats"})
CONTRAST = frozenset({"but", "however", "though", "although", "despite", "still", "anyway", "nevertheless"})
_SENTENCE_END = re.compile(r"[.!?]+")


@dataclass(frozen=True)
class RuleSet:
    """The rules switched on, and the word lists they read."""

    enabled: frozenset[str]
    failures: frozenset[str]  # lexicon tokens that report a service failure
    courtesy: frozenset[str]
    sarcasm_cues: frozenset[str]
    remedies: frozenset[str]  # words that put a failure right ("fixed", "refunded")
    remedy_pairs: frozenset[tuple[str, str]]  # two-word ones ("turned up")
    remedy_blockers: frozenset[str]  # words that undo a remedy just before it ("not", "until")
    request_token: str  # the phrase token of a plea for help ("please help")
    placeholder: str  # what a masked name becomes
    phrase_prefix: str = "cs_"  # the customer-service phrases' tokens start with it ("cs_still_waiting")
    laughter: frozenset[str] = frozenset()  # tokens of laughter ("emoji_tears_of_joy")

    @cached_property
    def remedy_words(self) -> frozenset[str]:
        """The remedies and the first words of the two-word ones: a text with none has no remedy."""
        return self.remedies | {first for first, _ in self.remedy_pairs}


def apply(
    rules: RuleSet,
    words: list[str],
    low: list[str],
    sentiments: list[float],
    text: str,
    trace: list[tuple[str, str]] | None = None,
) -> None:
    """Change ``sentiments`` in place: names, hedges, like_verb, sarcasm, laughter, courtesy,
    neg_dominance."""
    on = rules.enabled
    n = len(low)
    if "names" in on:
        for i, name in _in_names(words, low, sentiments, text, rules.placeholder):
            sentiments[i] = 0.0
            if trace is not None:
                trace.append(("names", f"'{words[i]}' is part of the name '{name}'"))
    if "hedges" in on:
        for i, modal in _hedged(words, low, sentiments, text):
            sentiments[i] *= HEDGE
            if trace is not None:
                trace.append(("hedges", f"'{words[i]}' x{HEDGE} after '{modal}': a possibility, not an assertion"))
    # Every rule below scales or zeroes a token that has a valence: only those are visited.
    scored = [i for i in range(n) if sentiments[i]]
    if "like_verb" in on:
        for i in scored:
            # Negated or not: "doesn't look like" is no more disliking than "looks like" is liking.
            if low[i] == "like" and sentiments[i] and (i == 0 or low[i - 1] not in LIKE_SUBJECTS):
                sentiments[i] = 0.0
                if trace is not None:
                    trace.append(("like_verb", f"'{words[i]}' is not used as a verb"))

    negative_present = any(sentiments[i] < 0 for i in scored)
    failures = [i for i in scored if sentiments[i] < 0 and low[i] in rules.failures] if negative_present else []
    if failures and "remedies" in on:
        failures = _unremedied(rules, words, low, text, failures, trace)
    is_question = "?" in text
    request = is_question or rules.request_token in low
    contrast = [i for i in range(n) if low[i] in CONTRAST] if negative_present else []

    def set_apart(i: int, others: Collection[int]) -> bool:
        """A contrast word stands between position i and every position in ``others``."""
        return bool(contrast) and all(any(min(i, k) < x < max(i, k) for x in contrast) for k in others)

    if "sarcasm" in on and failures:
        for i in scored:
            if sentiments[i] > 0 and low[i] in rules.sarcasm_cues:
                if low[i] in rules.courtesy:
                    if not _thanked_for_failure(i, low, failures):
                        continue  # plain "thanks" in a complaint is courtesy, not sarcasm
                elif set_apart(i, failures):
                    continue
                sentiments[i] *= FLIP
                if trace is not None:
                    trace.append(("sarcasm", f"'{words[i]}' beside a reported service failure"))

    if "laughter" in on and failures:
        for i in scored:
            if sentiments[i] > 0 and low[i] in rules.laughter and not set_apart(i, failures):
                sentiments[i] = 0.0
                if trace is not None:
                    trace.append(("laughter", f"'{words[i]}' beside a reported service failure: laughing at it"))

    if "courtesy" in on and (negative_present or request):
        negatives = [k for k in scored if sentiments[k] < 0] if not request else []
        for i in scored:
            if sentiments[i] > 0 and low[i] in rules.courtesy:
                if negatives and set_apart(i, negatives):
                    continue
                sentiments[i] = 0.0
                if trace is not None:
                    trace.append(("courtesy", f"'{words[i]}' in a {'request' if request else 'complaint'}"))

    if "neg_dominance" in on and failures:
        for i in scored:
            if sentiments[i] > 0 and not set_apart(i, failures):
                sentiments[i] *= DOMINANCE
                if trace is not None:
                    trace.append(("neg_dominance", f"'{words[i]}' x{DOMINANCE} beside a service failure"))


def question_factor(
    rules: RuleSet, low: list[str], total: float, text: str, trace: list[tuple[str, str]] | None = None
) -> float:
    """The factor for a message's total valence (after VADER's "but" weighting): the
    questions rule."""
    if "questions" not in rules.enabled or total == 0 or "?" not in text or not text.rstrip().endswith("?"):
        return 1.0
    ends = _SENTENCE_END.findall(text)
    if not ends or not all("?" in e for e in ends):
        return 1.0
    if total < 0 and ("!" in text or "why" in low):
        return 1.0  # a challenge ("why was I charged?") keeps its force
    if trace is not None:
        trace.append(("questions", f"question-only message: valence x{QUESTION_DAMPING}"))
    return QUESTION_DAMPING


def _is_capitalised(token: str) -> bool:
    """"Dead", "McGregor", "K-Pop": an initial capital and a lower-case letter after it."""
    word = token.strip("\"'()[]*")
    return len(word) > 1 and word[0].isupper() and any(c.islower() for c in word[1:])


def _is_acronym(token: str) -> bool:
    """"USA", "NBA", "BBC": a short all-capitals word, part of a name beside a capitalised one."""
    word = token.strip("\"'()[]*.,!?:;")
    return 2 <= len(word) <= 5 and word.isalpha() and word.isupper()


def _in_names(
    words: list[str], low: list[str], sentiments: list[float], text: str, placeholder: str
) -> list[tuple[int, str]]:
    """Positions of sentiment words that are part of a capitalised name, with the name."""
    n = len(words)
    # Cheap test first: most messages have no capitalised sentiment word after their first word.
    candidates = [i for i in range(1, n) if sentiments[i] and words[i][:1].isupper()]
    if not candidates:
        return []
    raw = text.split()
    if len(raw) != n:
        return []
    addressed = 0  # the names a message opens with ("@acme @bob Thank You")
    while addressed < n and low[addressed] == placeholder:
        addressed += 1

    def opens(j: int) -> bool:  # the word opens a sentence, or the message after its address
        return j <= addressed or raw[j - 1][-1] in SENTENCE_OPENERS

    def capitalised(j: int) -> bool:
        return low[j] != "i" and _is_capitalised(raw[j])

    def in_name(j: int) -> bool:
        return capitalised(j) or _is_acronym(raw[j])

    found = []
    for i in candidates:
        if not capitalised(i) or opens(i) or (low[i] in GREETINGS and i + 1 < n and capitalised(i + 1)):
            continue
        # "Walking Dead", "NBC Super Bowl"; not after a greeting word ("Thank God")
        left = in_name(i - 1) and low[i - 1] not in GREETINGS
        right = i + 1 < n and in_name(i + 1) and not opens(i + 1)  # "Miss USA"
        if left or right:
            first, last = i, i + 1
            while first > 0 and not opens(first) and in_name(first - 1):
                first -= 1
            while last < n and not opens(last) and in_name(last):
                last += 1
            found.append((i, " ".join(words[first:last])))
    return found


def _hedged(words: list[str], low: list[str], sentiments: list[float], text: str) -> list[tuple[int, str]]:
    """Positions of sentiment words in a clause after an epistemic modal, with the modal."""
    if HEDGES.isdisjoint(low):
        return []
    raw = text.split()
    if len(raw) != len(words):
        return []
    found, modal = [], ""
    for i, word in enumerate(low):
        if i > 0 and raw[i - 1][-1] in CLAUSE_END:
            modal = ""
        if word in HEDGES and i > 0 and raw[i - 1][-1] not in SENTENCE_OPENERS and raw[i].islower():
            modal = words[i]
        elif modal and sentiments[i]:
            found.append((i, modal))
    return found


def _unremedied(
    rules: RuleSet, words: list[str], low: list[str], text: str, failures: list[int],
    trace: list[tuple[str, str]] | None,
) -> list[int]:
    """The failures no remedy puts right in their sentence."""
    if rules.remedy_words.isdisjoint(low):
        return failures  # the common case, tested in C
    n = len(low)
    found = [j for j in range(n) if low[j] in rules.remedies
             or (j + 1 < n and (low[j], low[j + 1]) in rules.remedy_pairs)]
    if not found:
        return failures
    raw = text.split()
    if len(raw) != n:  # tokens and words do not line up: sentences cannot be told apart
        return failures
    sentence, starts = 0, []
    for j in range(n):
        if j and raw[j - 1][-1:] in ".!?":
            sentence += 1
        starts.append(sentence)
    asked = {starts[j] for j in range(n) if "?" in raw[j]}
    remedies = []
    for j in found:
        quoted = raw[j][:1] in "\"'‘“" or raw[j].rstrip(".,!?;:")[-1:] in "\"'’”"
        # "not fixed", "until it's sorted", and "still not fixed" (a failure phrase's token)
        blocked = any(low[k] in rules.remedy_blockers or low[k].endswith("n't")
                      or (low[k].startswith(rules.phrase_prefix) and low[k] in rules.failures)
                      for k in range(max(0, j - 3), j))
        if not (quoted or blocked or starts[j] in asked):
            remedies.append(j)

    def remedy_of(i: int) -> int | None:
        """The remedy that puts failure ``i`` right: later in its sentence ("the outage was
        fixed"), or just before it ("refunded the delayed order"); no contrast word between
        ("refunded one order but the other is still missing" leaves "missing" a failure)."""
        for j in remedies:
            if starts[j] == starts[i] and (i < j or i - j <= 3) and not any(
                low[k] in CONTRAST for k in range(min(i, j) + 1, max(i, j))
            ):
                return j
        return None

    kept = []
    for i in failures:
        j = remedy_of(i)
        if j is None:
            kept.append(i)
        elif trace is not None:
            trace.append(("remedies", f"'{words[i]}' put right by '{words[j]}': no failure"))
    return kept


def _thanked_for_failure(i: int, low: list[str], failures: list[int]) -> bool:
    """"thanks for <failure>" / "thank you for <failure>", the failure within 5 words."""
    n = len(low)
    if i + 1 < n and low[i + 1] == "for":
        j = i + 1
    elif i + 2 < n and low[i + 1] in ("you", "u") and low[i + 2] == "for":
        j = i + 2
    else:
        return False
    return any(j < k <= j + 5 for k in failures)
