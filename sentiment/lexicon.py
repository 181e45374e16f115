"""The customer-service lexicon layer of the default classifier (``sentiment.vader``).

Everything here is on VADER's valence scale (-4 .. +4; VADER's own entries are the
mean of human ratings on that scale, e.g. "delay" -1.3, "bad" -2.5, "great" +3.1).
Every entry carries the reason it exists, stated in terms of what the word or phrase
means when a customer writes to a brand. Entries were chosen for that meaning, not
from counts in a data set; measurement on the dev sets was used only to drop
candidates that hurt general text (the README's "Sentiment" section lists what was
tried and rejected).

WORDS     single tokens: added to, or overriding, VADER's lexicon (a copy of it).
PHRASES   multi-word expressions (regexes on the normalised, lower-cased text) that are
          rewritten into one token "cs_<name>" before VADER tokenises. A phrase carries
          its context with it, so its valence is fixed: no negation or booster from
          neighbouring words (ALL-CAPS emphasis and VADER's "but" weighting still apply).
          A 0.0 phrase only neutralises the words inside it ("customer care").
EMOJI     emoji whose VADER description misleads ("face with rolling eyes" scores 0,
          "broken heart" scores positive): replaced by one token with a valence.
COURTESY  politeness words that are formulaic in a complaint or a request (see the rule
          "courtesy" in sentiment/rules.py).
LAUGHTER  laughter tokens that count 0 beside a reported service failure (see the rule
          "laughter" in sentiment/rules.py).
"""

# word: (valence, why)
WORDS = {
    # --- politeness / request words: a request is not a sentiment ---------------------
    "please": (0.0, "marks a request ('please help', 'please DM me'); VADER's +1.3 turns every request positive"),
    "pls": (0.0, "abbreviation of 'please' in requests"),
    "plz": (0.0, "abbreviation of 'please' in requests"),
    "help": (0.0, "in messages to a brand 'help' is asking for assistance, i.e. a problem, not praise (+1.7 in VADER)"),
    "kindly": (0.0, "formal request marker ('kindly refund me'), not a judgement of kindness"),
    "award": (0.0, "loyalty-programme vocabulary ('award miles/ticket'), a product name, not praise (VADER +2.5)"),
    "awards": (0.0, "as 'award'"),
    "reward": (0.0, "loyalty-programme vocabulary ('reward points'), a product name (VADER +2.7)"),
    "rewards": (0.0, "as 'reward' ('rewards card')"),
    "loyalty": (0.0, "programme name ('loyalty programme/number'), VADER +2.5"),
    "want": (0.0, "'I want my bag/refund' is a demand, not approval (VADER +0.3)"),
    "security": (0.0, "in service/travel talk a process or place ('security line', 'security hold'), not safety praise (VADER +1.4)"),
    "chance": (0.0, "'any chance you could...' is a request (VADER +1.0)"),
    "treat": (0.0, "'how you treat customers' is about treatment, judged by the words around it (VADER +1.7)"),
    "credit": (0.0, "a refund instrument ('credit for my cancelled trip'), not praise (+1.6 in VADER)"),
    "care": (0.0, "mostly in department names ('customer care'); praise comes from adjectives"),
    "support": (0.0, "mostly the department ('contact support'); praise comes from adjectives"),
    # --- service failures: the event itself is the complaint ----------------------------
    "delay": (-1.8, "a delay is a service failure the customer suffers (VADER -1.3 is rated for everyday use)"),
    "delays": (-1.8, "plural of delay"),
    "delayed": (-1.8, "the customer's flight/parcel/order is late: a service failure (VADER -0.9)"),
    "stranded": (-2.3, "left without a way to continue: a severe service failure"),
    "stuck": (-1.5, "customer cannot proceed ('stuck at the airport/in a queue')"),
    "lost": (-1.8, "lost goods/luggage/orders: a service failure (VADER -1.3)"),
    "missing": (-1.5, "missing item/refund/part: a service failure (VADER -1.2)"),
    "misplaced": (-1.5, "item mishandled by the company"),
    "damaged": (-2.0, "goods arrived damaged"),
    "outage": (-2.0, "service unavailable"),
    "overcharged": (-2.2, "billing error against the customer"),
    "overcharging": (-2.2, "as 'overcharged': 'you keep overcharging me'"),
    "overcharges": (-2.2, "as 'overcharged'"),
    "overcharge": (-2.2, "as 'overcharged' (verb, or the noun for the extra amount)"),
    "overbooked": (-1.8, "sold more than it can serve; customer bumped"),
    "bumped": (-1.2, "denied the booked service ('bumped from my flight')"),
    "rebooked": (-0.8, "rebooking only happens after a disruption; mild"),
    "diverted": (-1.2, "trip/order rerouted against plan"),
    "refund": (-0.8, "asking for your money back signals dissatisfaction; 'thanks for the refund' still wins via 'thanks'"),
    "compensation": (-0.8, "asked for because something went wrong"),
    "compensate": (-0.8, "asked for because something went wrong"),
    "fee": (-0.7, "an extra charge imposed on the customer"),
    "fees": (-0.9, "extra charges imposed on the customer"),
    "waiting": (-1.0, "in a service message 'waiting' means an unresolved request"),
    "waited": (-1.0, "past unresolved waiting"),
    "wait": (-0.6, "waiting for the brand; milder, often a request ('can't wait' is negated by VADER into a positive)"),
    "queue": (-0.5, "waiting in line for service"),
    "atrocious": (-3.0, "strong condemnation absent from VADER"),
    "absurd": (-2.0, "outrage at treatment, absent from VADER"),
    "ordeal": (-2.0, "a painful experience, absent from VADER"),
    "disrespectful": (-2.2, "staff conduct complaint, absent from VADER"),
    "fml": (-2.0, "'f*** my life': exasperation, absent from VADER"),
    "bs": (-2.0, "'bullshit': rejection of an excuse, absent from VADER"),
    "trash": (-2.0, "'your app is trash': contempt (absent from VADER)"),
    "hostage": (-1.5, "'holding my bag hostage': goods withheld by the company"),
    "unreliable": (-2.0, "service cannot be counted on (absent from VADER)"),
    "letdown": (-2.0, "a disappointment (absent from VADER)"),
    "sloppy": (-1.8, "careless service (absent from VADER)"),
    "shambles": (-2.5, "chaotic service (absent from VADER)"),
    "mismanaged": (-2.0, "organisational failure (absent from VADER)"),
    "poorly": (-1.5, "'poorly handled/organised': VADER has no entry for the adverb"),
    "hassle": (-1.5, "unneeded effort imposed on the customer (absent from VADER)"),
    "nightmare": (-2.5, "a terrible experience (absent from VADER)"),
    "unhelpful": (-2.0, "service did not help"),
    "unprofessional": (-2.2, "staff conduct complaint"),
    "rude": (-2.3, "staff conduct complaint (VADER -2.0)"),
    "incompetent": (-2.3, "staff/company conduct complaint"),
    "unacceptable": (-2.5, "explicit judgement of service as below standard (VADER -2.0)"),
    "ridiculous": (-2.0, "in complaints, outrage at treatment (VADER -1.5)"),
    "joke": (0.0, "a joke told is not praise (VADER +1.2); contempt ('what a joke') is a phrase below"),
    "hours": (-0.6, "customers mention hours when they had to wait (on hold, delayed); mild"),
    "hrs": (-0.6, "abbreviation of hours"),
    "why": (-0.5, "a 'why' question to a brand challenges a decision ('why was I charged')"),
    "seriously": (-1.0, "indignation ('seriously?'), VADER -0.7"),
    # --- verdicts on software, billing and process that VADER's lexicon lacks ----------
    "shambolic": (-2.5, "chaotic and incompetent, as 'shambles'; absent from VADER"),
    "abysmal": (-3.0, "extremely bad, as 'atrocious'; absent from VADER"),
    "unusable": (-2.2, "the product cannot be used at all; absent from VADER"),
    "glitchy": (-1.5, "software misbehaves; absent from VADER"),
    "buggy": (-1.5, "software misbehaves; absent from VADER"),
    "laggy": (-1.5, "software/network is slow to respond; absent from VADER"),
    "crashed": (-1.7, "as VADER's 'crash' (-1.7), which has no past tense entry"),
    "crashing": (-1.7, "as VADER's 'crash' (-1.7), which has no progressive entry"),
    "crashes": (-1.7, "as VADER's 'crash' (-1.7), which has no third-person entry ('the app crashes')"),
    "froze": (-1.5, "the app/device stopped responding ('the app froze'), as 'glitchy'; absent from VADER"),
    "freezes": (-1.5, "the app/device stops responding, as 'froze' (VADER -0.1 is rated for the weather)"),
    "overpriced": (-1.8, "the customer judges the price unfair; absent from VADER"),
    "scammed": (-2.5, "cheated out of money, as VADER's 'scam'; absent from VADER"),
    "seamless": (1.8, "a process without friction: praise in service talk; absent from VADER"),
    "effortless": (1.5, "a process without effort for the customer; absent from VADER"),
    # --- words VADER rates positive that in service talk are neutral ---------------------
    "ok": (0.0, "acknowledgement ('ok, I'll DM'), not approval"),
    "okay": (0.0, "acknowledgement, not approval"),
    "sure": (0.0, "acknowledgement or 'not sure', not approval"),
    "yes": (0.0, "answer to a question, not approval"),
    "hope": (0.0, "expresses an unmet need in a service message ('hope my bag arrives')"),
    "hoping": (0.0, "as 'hope'"),
    "free": (0.0, "'free' is usually part of a request ('free upgrade/drink') or policy, not praise"),
    # --- resolutions and praise specific to service -------------------------------------
    "resolved": (1.5, "the problem was solved: the outcome the customer wanted (VADER 0.7)"),
    "fixed": (1.2, "the problem was solved"),
    "sorted": (1.0, "British/colloquial for resolved ('got it sorted')"),
    "refunded": (0.8, "the customer got their money back (a resolution)"),
    "shoutout": (2.0, "public praise"),
    "props": (2.0, "public praise"),
    "smooth": (1.5, "a trip/process without problems"),
    "courteous": (2.0, "staff conduct praise"),
    "professional": (1.5, "staff conduct praise"),
    "attentive": (1.5, "staff conduct praise"),
}

# name, regex (applied to lower-cased normalised text), valence, why
# Order matters: longer phrases first (the alternation takes the first that matches).
PHRASES = [
    # --- negation idioms that intensify instead of negating -----------------------------
    ("negated_comparative", r"(?:couldn'?t|could not|could never|can'?t|cannot|can not) (?:possibly )?(?:(?:be|have been|ask for|have asked for)(?= (?:any |much |even |a )?(?:more \w|worse\b|\w+er\b))|get(?= any (?:more \w|worse\b|\w+er\b)))", 0.0, "'couldn't be happier', 'could not be more pleased', 'couldn't be worse': nothing could exceed it, so the comparative after it is meant in full; the negation is taken out and the comparative keeps its own polarity"),
    ("cant_praise_enough", r"(?:can'?t|cannot|can not|couldn'?t|could not) (?:recommend|thank|praise|commend) (?:(?!(?:not|never|no)\b|\S*n't\b)[^\s,;:.!?]+ ){0,5}enough|(?:can'?t|cannot|can not|couldn'?t|could not) say enough (?:good|nice|great|positive|kind|wonderful) (?:things|words)|(?:can'?t|cannot|can not|couldn'?t|could not) speak (?:highly|well) enough", 2.5, "'can't recommend them enough', 'can't thank you enough', 'cannot say enough good things': strong praise (VADER negates the praise word); the words between hold no clause break and no negation ('can't recommend them, not good enough' is no praise)"),
    ("cant_say_enough_bad", r"(?:can'?t|cannot|can not|couldn'?t|could not) say enough (?:bad|negative|terrible|horrible|awful) (?:things|words)", -2.5, "'can't say enough bad things': strong condemnation (VADER negates 'bad' into a positive)"),
    # --- sarcasm / explicit complaint formulas -------------------------------------------
    ("thanks_for_nothing", r"thanks? (?:you )?for nothing", -2.5, "fixed sarcastic formula"),
    ("never_again", r"never (?:\S+ ){0,4}again", -2.5, "customer vows not to return ('never booking with them again')"),
    ("yet_again", r"yet again|again and again|(?:happened|happens|happening) again", -1.2, "a recurring failure"),
    ("what_a_joke", r"what a joke|is a joke|such a joke", -2.0, "contempt for the service"),
    ("you_had_one_job", r"had one job", -2.0, "ironic complaint formula"),
    ("no_excuse", r"no excuse", -1.8, "rejecting the brand's justification"),
    # --- waiting and unreachability ------------------------------------------------------
    ("on_hold", r"(?:on|placed on|put on) hold", -1.5, "kept waiting on the phone"),
    ("still_waiting", r"still (?:waiting|no|not|haven'?t|hasn'?t|didn'?t|can'?t|cannot|unable|nothing|stuck|on hold|sitting|in line|parked|here|on the ground)", -1.8, "'still' + absence: the problem persists after the customer already tried"),
    ("no_response", r"no (?:response|reply|replies|answer|call ?back|word|update|updates|info|information|one (?:answers|answering|picks up|to help|at the desk|there))", -1.5, "the brand is unreachable or silent"),
    ("nobody_answers", r"(?:nobody|noone|no-one) (?:answers|is answering|picks up|helps|helped|cares|knows)", -1.8, "the brand is unreachable or does not care"),
    ("hung_up", r"hung up(?: on)?|hangs up|disconnect(?:ed|s|ing)|call dropped", -1.8, "the call or connection was cut off ('disconnected', 'wifi disconnects')"),
    ("cant_get_through", r"(?:can'?t|cannot|couldn'?t|unable to|not possible to|impossible to|no way to) (?:even )?(?:get through|get someone|get somebody|get a human|get a person|reach|get a hold|get ahold|get anyone|talk to anyone|speak to anyone|contact)", -1.8, "cannot reach customer service"),
    ("wait_forever", r"(?:wait|waiting|waited|takes|taking|took|been) (?:forever|ages|all day|all night)", -1.8, "excessive waiting"),
    ("time_waited", r"\d+(?:\.\d+)? ?(?:\+ )?(?:hours?|hrs?|h|mins?|minutes?|days?|weeks?|wks?|months?) (?:on hold|wait|waiting|delay|delayed|late|in line|in a queue|on the tarmac|and counting|and still)", -1.8, "a quantified wait: the customer is counting lost time"),
    ("where_is_my", r"where(?:'s| is| are| r) (?:my|our)", -1.2, "asking a company where your item/refund/reply is means it is missing or late"),
    ("real_person", r"(?:real|actual|live) (?:human|person|people|agent)", -1.2, "demanding a human: automation/service failed the customer"),
    ("not_help", r"(?:not|no|unable to|can'?t|cannot|won'?t|wouldn'?t|couldn'?t|didn'?t|doesn'?t|refused to|refuse to|nobody to) (?:\w+ )?help(?:ful|ing|ed)?|how (?:does|is|will|would) (?:that|this) help", -1.8, "help withheld or useless; needed because 'help' itself carries no valence here"),
    ("makes_no_sense", r"(?:doesn'?t|does not|didn'?t|did not) make (?:any )?sense|makes? no sense", -1.5, "the customer finds a policy/decision unreasonable"),
    ("discourse_well", r"well(?=,)", 0.0, "'well, ...' opening a reply is a discourse marker, not 'well' the adverb (VADER +1.1)"),
    ("let_down", r"(?:let|lets|letting) (?:me|us|you|them|him|her|everyone|customers|people|\S+) down|let down", -2.0, "idiom for disappointment; neither word has valence in VADER"),
    ("dont_care", r"(?:don'?t|doesn'?t|didn'?t|do not|does not|did not|never|nobody|no one) (?:seem to |even |really )?cares?", -2.0, "indifference to the customer; needed because 'care' alone carries no valence here"),
    ("taking_so_long", r"(?:taking|takes|take|took|taken) (?:so|too|this|that) long|what'?s taking so long", -1.5, "complaint about slowness"),
    ("gone_downhill", r"(?:gone|going|went|go) downhill", -2.0, "quality has declined"),
    ("screwed_up", r"(?:screw|screwed|screwing|mess|messed|messing|fuck|fucked|fucking|f\*\*\*ed) (?:\S+ )?up", -2.0, "the company made a mistake"),
    ("not_received", r"(?:haven'?t|hasn'?t|hadn'?t|didn'?t|never|not yet|still not) (?:\S+ )?(?:received|gotten|heard back|heard anything|arrived|shown up|showed up|been (?:contacted|refunded|called|notified|told|reimbursed))", -1.5, "something promised was not delivered"),
    ("long_duration", r"(?:for|over|after|more than|almost|nearly) (?:over |almost |nearly |more than |about )?(?:an|\d+|one|two|three|four|five|six|several|many) (?:hours?|hrs?)", -1.0, "a wait measured in hours (bare 'hours' is only mildly negative)"),
    ("got_nowhere", r"(?:got|getting|get|going|went) nowhere", -1.5, "effort without result ('nowhere' is a VADER negator, so it cannot be a lexicon word)"),
    ("keeps_failing", r"keeps? (?:getting(?! better)|saying|telling|asking|happening|failing|crashing|freezing|dropping|sending)", -1.2, "a repeated failure the customer cannot escape ('keeps getting better' is none)"),
    ("cant_wait", r"(?:can'?t|cannot|can not) wait", 1.5, "idiom of eager anticipation; 'wait' alone is negative here"),
    ("good_luck_with_that", r"good luck with that", -1.5, "sarcastic dismissal"),
    ("less_than_good", r"less (?:than|then) (?:helpful|great|ideal|stellar|impressed|satisfied|happy|pleased|pleasant|professional|friendly|good|acceptable)", -1.8, "understatement for bad: VADER reads 'less' as a mere dampener"),
    ("nice_if", r"(?:be|'d be) nice if", -1.0, "a conditional wish about the company's behaviour says it is not happening"),
    ("with_respect_to", r"(?:with|w/?) respect to|in respect of", 0.0, "prepositional phrase; VADER would score 'respect' +2.1"),
    ("dont_give_a", r"(?:doesn'?t|don'?t|didn'?t|does ?not|do not|never) give (?:a|2|two|one) (?:shit|shits|damn|fuck|crap|toss)", -2.5, "idiom: 'doesn't give a damn' (VADER negates the swear word into a positive)"),
    ("nothing_but", r"nothing but", 0.0, "'nothing but X' means X: stops VADER reading 'nothing' as a negation of X"),
    ("fail_hashtag", r"#\w*(?:fail|worst|sucks|disappoint|nothappy|unhappy|neveragain|nothanks|shame|poor|terrible|awful|horrible|waiting)\w*", -2.0, "complaint hashtags (#epicfail, #worstservice, #poorservice) whose words VADER cannot see inside the tag"),
    ("rip_off", r"rip ?off|ripped off|ripoff", -2.5, "being overcharged or cheated"),
    # --- service failures (multi-word) ---------------------------------------------------
    ("cancel", r"cancel\w*", -1.8, "any form of cancel/cancelled/cancellation: the booked service will not happen"),
    ("double_charged", r"(?:double|twice|charged twice|billed twice)[ -]charged|charged (?:me )?twice|billed (?:me )?twice", -2.2, "billing error against the customer"),
    ("not_working", r"(?:not|isn'?t|wasn'?t|doesn'?t|didn'?t|won'?t|never|stopped) work(?:ing|s|ed)?", -1.8, "something the customer paid for does not work"),
    ("is_down", r"(?:is|are|was|were|been|site|app|website|system|systems|network) down\b", -1.5, "service unavailable ('site is down')"),
    ("no_signal", r"no (?:signal|service|wifi|wi-fi|internet|power|water|food|seat|seats|bag|bags|luggage|refund|help)", -1.5, "something expected is missing"),
    ("missed_connection", r"miss(?:ed|ing)? (?:my|our|the) (?:connection|connecting|flight|train|meeting|delivery)", -1.8, "a consequence the customer suffered"),
    ("lost_luggage", r"lost (?:my|our|the) (?:bag|bags|luggage|suitcase|package|parcel|order)", -2.0, "goods lost by the company"),
    ("customer_service_bad", r"(?:worst|terrible|horrible|awful|poor|bad|no|zero|lousy) (?:customer )?(?:service|support|care)", -2.5, "explicit verdict on service quality"),
    ("department", r"customer (?:service|care|support|relations)|help ?desk|help ?line|support team|care team", 0.0, "a department name: neutral, so 'care'/'support'/'help' in it add nothing"),
    # --- requests and counterfactual expectations ---------------------------------------
    ("would_like", r"(?:would|'d|i'd) (?:like|love|appreciate)", 0.0, "'I'd like/love a refund' is a request, not liking"),
    ("deserve_better", r"(?:deserve|deserved|expect|expected|expecting|do|be|been|get|should be|needs to be|need to be) better|could be better|can do better|try harder|could be (?:a )?(?:little |bit |lot )?more", -1.8, "the customer says the service fell short"),
    ("please_help", r"(?:please|pls|plz) help|help (?:me|us) (?:please|pls|plz)|can (?:you|u|someone|somebody|anyone) (?:please )?help|need (?:some )?help", -0.3, "a plea for assistance: the customer has a problem (mildly negative; questions alone stay near neutral)"),
    ("thanks_in_advance", r"thanks? (?:you )?in advance|tia\b", 0.0, "pre-emptive politeness closing a request"),
    # --- resolutions ---------------------------------------------------------------------
    ("arrived_early", r"ahead of schedule|early arrival|(?:arrived|landed|got in|got there) early", 1.5, "the service beat its promise ('on time' alone is left out: in service messages it is mostly a status, often disputed)"),
    ("got_me_home", r"got (?:me|us) (?:home|there)|made (?:it|my connection)", 1.2, "the service delivered despite difficulty"),
    ("above_and_beyond", r"above and beyond|went out of (?:their|his|her|your) way", 2.5, "explicit praise of staff effort"),
]

# emoji -> (token, valence, why)
EMOJI = {
    "\U0001F644": ("emoji_eyeroll", -1.8, "face with rolling eyes: exasperation/sarcasm"),
    "\U0001F643": ("emoji_upside_down", -0.8, "upside-down face: usually ironic resignation"),
    "\U0001F612": ("emoji_unamused", -1.8, "unamused face"),
    "\U0001F611": ("emoji_expressionless", -1.0, "expressionless face: fed up"),
    "\U0001F624": ("emoji_steam", -2.0, "face with steam from nose: anger"),
    "\U0001F926": ("emoji_facepalm", -1.8, "person facepalming: exasperation"),
    "\U0001F614": ("emoji_pensive", -1.2, "pensive face: dejection (VADER scores the word 'pensive' +0.3)"),
    "\U0001F621": ("emoji_pouting", -2.2, "pouting (red angry) face: anger; 'pouting' is absent from VADER"),
    "\U0001F494": ("emoji_broken_heart", -2.0, "broken heart: VADER scores its description 'broken heart' as positive (+1.1)"),
    "\U0001F44E": ("emoji_thumbs_down", -2.0, "thumbs down: disapproval"),
    "\U0001F44D": ("emoji_thumbs_up", 1.5, "thumbs up: approval (VADER's description 'thumbs up' scores 0)"),
    "\U0001F64F": ("emoji_folded_hands", 0.0, "folded hands: please/thank-you gesture, formulaic like 'please'"),
    "\U0001F602": ("emoji_tears_of_joy", 2.2, "face with tears of joy: laughter, as VADER scores its description ('tears' + 'joy'); 0 beside a service failure (rule 'laughter')"),
    "\U0001F923": ("emoji_rofl", 2.2, "rolling on the floor laughing: laughter, as VADER scores its description ('laughing'); 0 beside a service failure (rule 'laughter')"),
}

# Laughter beside a reported service failure ("my order is 3 weeks late \U0001F602") is laughing
# at the failure, exasperated or ironic, not joy: it counts 0 there (rule "laughter" in
# sentiment/rules.py). Elsewhere ("the crew was hilarious \U0001F602") it keeps its valence.
LAUGHTER = {"emoji_tears_of_joy", "emoji_rofl"}

# Courtesy words: positive in VADER, formulaic when the message is a complaint or a
# request. Neutralised only in that context (feature "courtesy" in sentiment/rules.py).
COURTESY = {"thanks", "thank", "thx", "ty", "appreciate", "appreciated", "cheers"}

# A failure put right: "the outage was fixed in 10 minutes, great support" and "my lost parcel
# turned up, thanks" praise the recovery. A failure with one of these after it in its sentence,
# or just before it ("refunded the delayed order"), no contrast word between, not negated, not
# asked about, not in quotes, is no failure for sarcasm, courtesy and
# neg_dominance (feature "remedies" in sentiment/rules.py). Pairs are two tokens in a row.
REMEDIES = {"fixed", "restored", "resolved", "sorted", "solved", "refunded", "reimbursed", "reconnected"}
REMEDY_PAIRS = {("turned", "up"), ("back", "up"), ("back", "online"), ("working", "again")}
# Words that undo a remedy within the three tokens before it ("still not fixed", "until it's sorted").
REMEDY_BLOCKERS = {"not", "no", "never", "yet", "nothing", "without", "until", "unless", "if", "when", "before",
                   "hasn't", "hasnt", "haven't", "havent", "isn't", "isnt", "wasn't", "wasnt", "weren't",
                   "werent", "aren't", "arent", "didn't", "didnt", "don't", "dont", "doesn't", "doesnt",
                   "won't", "wont", "can't", "cant", "cannot", "couldn't", "couldnt", "supposedly", "apparently"}

# Positive evaluative words that are used sarcastically about a service failure
# ("great job, 3 hours late"). Only flipped when a service failure is in the same text.
SARCASM_CUES = {"great", "awesome", "nice", "love", "loving", "lovely", "fantastic",
                "wonderful", "amazing", "brilliant", "perfect", "excellent", "stellar",
                "good", "best", "wow", "impressive", "fun", "thanks", "thank"}
