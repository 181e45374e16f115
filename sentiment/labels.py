"""The labels classifiers give: constants only, so the CLI can offer them
without importing the classifier contract."""

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
LABELS = (POSITIVE, NEUTRAL, NEGATIVE)
#: The label of a text in a language the classifier does not support: it gets
#: no compound score and is left out of sentiment ratios.
UNSUPPORTED = "unsupported"
