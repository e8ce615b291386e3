"""Greetings, thanks, goodbyes, an "ok", "who are you?" and the weather: a reply in kind instead of a refusal or an
answer to no question.

People greet a robot before they ask it anything ("hello", "hi robot", "good morning") and thank it after ("thanks!");
the scope check refused those as questions in no word the model knows. :func:`small_talk_reply` answers a message
that is only such words, and nothing else: "hello, where is the bed?" is a question and goes to the model.
ROS-free and torch-free.
"""

from __future__ import annotations

import re
from typing import Optional

_ADDRESS = r"(?:\s+(?:robot|there|buddy|leo|again|everyone|all))?"
"""Who a greeting may name after it ("hello robot", "hi there")."""

GREETING_REPLY = ("Hello! I answer questions about what my camera has seen: ask \"what can you do?\" for examples, "
                  "or \"what do you see?\".")
THANKS_REPLY = "You're welcome."
GOODBYE_REPLY = "Goodbye."
OK_REPLY = "OK."
IDENTITY_REPLY = ("I am this robot's spatial memory: I map what its camera sees and answer questions about it. Ask "
                  "\"what can you do?\" for examples.")
OUTSIDE_REPLY = ("I cannot tell: I only know what my camera has seen here. Ask \"what can you do?\" for what I can "
                 "answer.")

_SMALL_TALK: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^(?:(?:hello|hi|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)){_ADDRESS}"
                r"(?:\s*[,.!]?\s*(?:how are you(?: doing)?|how's it going))?|how are you(?: doing)?)$"),
     GREETING_REPLY),
    (re.compile(rf"^(?:(?:many thanks|thanks a lot|thank you(?: very much| so much)?|thanks|thx|ty|cheers)"
                rf"{_ADDRESS}(?:\s*[,.!]?\s*(?:that'?s (?:all|great|helpful)|great|perfect))?"
                r"|(?:great|perfect|nice|cool),? thanks)$"), THANKS_REPLY),
    (re.compile(rf"^(?:(?:good ?bye|bye(?: bye)?|see you(?: later)?|good night){_ADDRESS})$"), GOODBYE_REPLY),
    (re.compile(r"^(?:ok(?:ay)?|got it|thats? (?:all|it)|that's (?:all|it)|never ?mind|no thanks|great|cool|nice"
                r"|perfect|alright|all right)$"), OK_REPLY),
    (re.compile(rf"^(?:(?:hi|hello|hey){_ADDRESS},? )?(?:(?:who|what) are you(?: doing| up to)?"
                r"|what(?: is|'s) your name|who (?:made|built) you|are you a robot)$"), IDENTITY_REPLY),
    (re.compile(r"^(?:(?:what(?: is|'s)|how(?: is|'s)) the weather(?: like)?(?: (?:today|outside|now))?"
                r"|(?:tell me|do you know) a joke|what(?: is|'s) the news)$"), OUTSIDE_REPLY),
)
"""Whole messages of small talk, lower-cased with their punctuation around them stripped, and their reply."""


def small_talk_reply(text: str) -> Optional[str]:
    """The reply to a message that is only a greeting, a thanks, a goodbye, asking who the robot is or something no
    map holds (the weather: "behind" was the model's answer) — case, spacing and punctuation around it
    forgiven; None for anything else."""
    words = re.sub(r"^[\W_]+|[\W_]+$", "", re.sub(r"\s+", " ", text.lower()))  # "🙂 hello!!!" is "hello"
    return next((reply for pattern, reply in _SMALL_TALK if pattern.match(words)), None)
